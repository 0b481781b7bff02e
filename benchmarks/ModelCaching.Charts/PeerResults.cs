namespace ModelCaching.Charts;

/// <summary>
/// The peer comparison read from docs/benchmarks/data: PeerHitBenchmarks*.csv (steady and reloading hits, with the
/// <c>Lazy&lt;T&gt;.Value</c> baseline measured beside each; re-runs of a few peers replace their rows), PeerFirstRequestBenchmarks.csv, PeerMemory.csv and
/// PeerLines.csv. Missing files leave their part empty.
/// </summary>
internal sealed class PeerResults
{
    public List<string> Names { get; } = [];

    public List<(string Name, double Value)> Steady { get; } = [];

    public List<(string Name, double Value)> Reloading { get; } = [];

    public List<(string Name, double Value)> FirstRequest { get; } = [];

    public List<(string Name, double First, double Idle, int Reachable)> Memory { get; } = [];

    public Dictionary<string, int> Lines { get; } = new(StringComparer.Ordinal);

    /// <summary>The mean of the <c>Lazy&lt;T&gt;.Value</c> baseline rows of the steady runs: the one baseline of the table.</summary>
    public double LazyBaseline { get; private set; } = double.NaN;

    public static PeerResults Read(string data)
    {
        var results = new PeerResults();

        // Full names, in table order, from the memory harness (BenchmarkDotNet may shorten long parameter values
        // in its CSV, "Model(...)iring [21]"; those are matched back to the full name).
        var fullNames = new List<string>();
        if (CsvTable.TryRead(Path.Combine(data, "PeerMemory.csv")) is { } names)
        {
            fullNames.AddRange(names.Rows.Select(r => names.Text(r, "Peer")));
        }

        string Resolve(string name)
        {
            int cut = name.IndexOf("(...)", StringComparison.Ordinal);
            if (cut < 0)
            {
                return name;
            }

            string prefix = name[..cut];
            string suffix = name[(cut + 5)..];
            int bracket = suffix.IndexOf(" [", StringComparison.Ordinal);
            suffix = bracket >= 0 ? suffix[..bracket] : suffix;
            return fullNames.FirstOrDefault(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(suffix, StringComparison.Ordinal)) ?? name;
        }

        results.Names.AddRange(fullNames);
        // PeerHitBenchmarks.csv, then any PeerHitBenchmarks-*.csv re-runs of a few peers (MC_PEERS), whose rows replace
        // the same peer's rows; the baseline is the median of every steady Lazy<T>.Value row kept.
        var baselines = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string file in Directory.GetFiles(data, "PeerHitBenchmarks*.csv").OrderBy(static f => Path.GetFileName(f) != "PeerHitBenchmarks.csv").ThenBy(static f => f, StringComparer.Ordinal))
        {
            CsvTable hits = CsvTable.TryRead(file)!;
            foreach (string[] row in hits.Rows)
            {
                string peer = Resolve(hits.Text(row, "Peer"));
                bool reloading = bool.Parse(hits.Text(row, "Reloading"));
                double mean = hits.Number(row, "Mean");
                if (hits.Text(row, "Method").Contains("Lazy", StringComparison.Ordinal))
                {
                    if (!reloading)
                    {
                        baselines[peer] = mean;
                    }

                    continue;
                }

                if (!results.Names.Contains(peer))
                {
                    results.Names.Add(peer);
                }

                List<(string Name, double Value)> list = reloading ? results.Reloading : results.Steady;
                list.RemoveAll(r => r.Name == peer);
                list.Add((peer, mean));
            }
        }

        double[] sorted = [.. baselines.Values.Order()];
        results.LazyBaseline = sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];

        if (CsvTable.TryRead(Path.Combine(data, "PeerFirstRequestBenchmarks.csv")) is { } first)
        {
            foreach (string[] row in first.Rows.Where(r => !first.Text(r, "Method").Contains("Load", StringComparison.Ordinal)))
            {
                results.FirstRequest.Add((Resolve(first.Text(row, "Peer")), first.Number(row, "Mean") / 1e6));
            }
        }

        if (CsvTable.TryRead(Path.Combine(data, "PeerMemory.csv")) is { } memory && memory.Rows.Count > 0)
        {
            foreach (string[] row in memory.Rows)
            {
                results.Memory.Add((memory.Text(row, "Peer"), memory.Number(row, "HeldAfterFirstRequestKB"), memory.Number(row, "HeldAfterIdleKB"), (int)memory.Number(row, "ReachableAfterIdle")));
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
