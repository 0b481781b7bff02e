namespace ModelCaching.Charts;

/// <summary>
/// The peer comparison read from docs/benchmarks/data: PeerHitBenchmarks.csv (steady and reloading hits, with the
/// <c>Lazy&lt;T&gt;.Value</c> baseline measured beside each), PeerFirstRequestBenchmarks.csv, PeerMemory.csv and
/// PeerLines.csv. Missing files leave their part empty.
/// </summary>
internal sealed class PeerResults
{
    public List<string> Names { get; } = [];

    public List<(string Name, double Value)> Steady { get; } = [];

    public List<(string Name, double Value)> Reloading { get; } = [];

    public List<(string Name, double Value)> FirstRequest { get; } = [];

    public List<(string Name, double First, double Idle)> Memory { get; } = [];

    public Dictionary<string, int> Lines { get; } = new(StringComparer.Ordinal);

    /// <summary>The mean of the <c>Lazy&lt;T&gt;.Value</c> baseline rows of the steady runs: the one baseline of the table.</summary>
    public double LazyBaseline { get; private set; } = double.NaN;

    public static PeerResults Read(string data)
    {
        var results = new PeerResults();
        if (CsvTable.TryRead(Path.Combine(data, "PeerHitBenchmarks.csv")) is { } hits)
        {
            var baselines = new List<double>();
            foreach (string[] row in hits.Rows)
            {
                string peer = hits.Text(row, "Peer");
                bool reloading = bool.Parse(hits.Text(row, "Reloading"));
                double mean = hits.Number(row, "Mean");
                if (hits.Text(row, "Method").Contains("Lazy", StringComparison.Ordinal))
                {
                    if (!reloading)
                    {
                        baselines.Add(mean);
                    }

                    continue;
                }

                if (!results.Names.Contains(peer))
                {
                    results.Names.Add(peer);
                }

                (reloading ? results.Reloading : results.Steady).Add((peer, mean));
            }

            baselines.Sort();
            results.LazyBaseline = baselines.Count == 0 ? double.NaN : baselines[baselines.Count / 2];
        }

        if (CsvTable.TryRead(Path.Combine(data, "PeerFirstRequestBenchmarks.csv")) is { } first)
        {
            foreach (string[] row in first.Rows.Where(r => !first.Text(r, "Method").Contains("Load", StringComparison.Ordinal)))
            {
                results.FirstRequest.Add((first.Text(row, "Peer"), first.Number(row, "Mean") / 1e6));
            }
        }

        if (CsvTable.TryRead(Path.Combine(data, "PeerMemory.csv")) is { } memory)
        {
            foreach (string[] row in memory.Rows)
            {
                results.Memory.Add((memory.Text(row, "Peer"), memory.Number(row, "HeldAfterFirstRequestKB"), memory.Number(row, "HeldAfterIdleKB")));
            }
        }

        if (CsvTable.TryRead(Path.Combine(data, "PeerLines.csv")) is { } lines)
        {
            foreach (string[] row in lines.Rows)
            {
                results.Lines[lines.Text(row, "Peer")] = (int)lines.Number(row, "Lines");
            }
        }

        return results;
    }
}
