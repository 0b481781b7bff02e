using System.Text;

namespace ModelCaching.Charts;

/// <summary>
/// The Markdown tables of docs/benchmarks.md, one per section, written from the results folder's CSV files: every
/// number in them is a cell of those files, formatted by <see cref="Format"/>. Null when the section's file is missing.
/// </summary>
internal static class ResultTables
{
    /// <summary>Writes every section's table into the page; returns the sections skipped because their file is missing.</summary>
    public static List<string> WriteAll(GeneratedPage page, string data)
    {
        var skipped = new List<string>();
        page.Replace("machine", Machine(data));
        foreach ((string name, string? table) in new[] { ("policy", Policy(data)), ("hit", Hit(data)), ("pooling", Pooling(data)), ("reload", Reload(data)), ("many-models", ManyModels(data)), ("onnx", Onnx(data)), ("fleet", Fleet(data)), ("fleet-placement", FleetPlacement(data)) })
        {
            if (table is null)
            {
                skipped.Add(name);
            }
            else
            {
                page.Replace(name, table);
            }
        }

        return skipped;
    }

    public static string Machine(string data)
    {
        CsvTable? table = CsvTable.TryRead(Path.Combine(data, "machine.csv"));
        var text = new StringBuilder("| | |\n|---|---|\n");
        foreach (string[] row in table?.Rows ?? [])
        {
            text.Append("| ").Append(table!.Text(row, "Item")).Append(" | ").Append(table.Text(row, "Value")).Append(" |\n");
        }

        return text.ToString();
    }

    public static string? Policy(string data) =>
        BdnReport.TryRead(data, "PolicyComparisonBenchmarks") is { } report
            ? Table(report.Rows.Where(static r => r.Category is "start-up" or "first request").OrderBy(static r => r.Category == "start-up" ? 0 : 1), ["what is timed", "benchmark"], static r => [r.Category, r.Method])
            : null;

    public static string? Hit(string data) =>
        BdnReport.TryRead(data, "CacheHitBenchmarks") is { } report
            ? Table(report.Rows, ["benchmark"], static r => [r.Method])
            : null;

    public static string? Pooling(string data) =>
        BdnReport.TryRead(data, "PredictionBenchmarks", "Threads") is { } report
            ? Table(report.Rows.OrderBy(static r => r.Parameter("Threads"), StringComparer.Ordinal), ["benchmark", "threads"], static r => [r.Method, r.Parameter("Threads")])
            : null;

    public static string? Reload(string data)
    {
        CsvTable? table = CsvTable.TryRead(Path.Combine(data, "ReloadUnderLoad.csv"));
        BdnReport? refresh = BdnReport.TryRead(data, "PolicyComparisonBenchmarks");
        if (table is null && refresh is null)
        {
            return null;
        }

        var text = new StringBuilder();
        if (table is not null)
        {
            text.Append("| calls (`--harness reload-under-load`) | count | p50 | p99 | p99.9 | max | failed |\n|---|---:|---:|---:|---:|---:|---:|\n");
            foreach (string[] row in table.Rows)
            {
                string Us(string column) => Format.Time(table.Number(row, column) * 1e3);
                text.Append("| ").Append(table.Text(row, "Calls")).Append(" | ").Append(Format.Count(table.Text(row, "Count")))
                    .Append(" | ").Append(Us("P50Us")).Append(" | ").Append(Us("P99Us")).Append(" | ").Append(Us("P999Us"))
                    .Append(" | ").Append(Us("MaxUs")).Append(" | ").Append(table.Text(row, "Failed")).Append(" |\n");
            }

            string summary = Path.Combine(data, "ReloadUnderLoad.txt");
            if (File.Exists(summary))
            {
                text.Append('\n');
                foreach (string line in File.ReadAllLines(summary).Where(static l => l.Length > 0))
                {
                    text.Append("> ").Append(line).Append("  \n");
                }
            }
        }

        if (refresh is not null)
        {
            text.Append('\n').Append(Table(refresh.Rows.Where(static r => r.Category == "hit during refresh-ahead"), ["expiring policy, `GetModel()` (BenchmarkDotNet)"], static r => [r.Method]));
        }

        return text.ToString();
    }

    public static string? ManyModels(string data) =>
        BdnReport.TryRead(data, "LookupByNameBenchmarks", "Access") is { } report
            ? Table(report.Rows, ["benchmark", "names looked up"], static r => [r.Method, r.Parameter("Access")])
            : null;

    public static string? Onnx(string data) =>
        BdnReport.TryRead(data, "OnnxBenchmarks", "Threads") is { } report
            ? Table(report.Rows.OrderBy(static r => r.Parameter("Threads"), StringComparer.Ordinal), ["benchmark", "threads"], static r => [r.Method, r.Parameter("Threads")])
            : null;

    public static string? Fleet(string data) =>
        BdnReport.TryRead(data, "FleetHitBenchmarks") is { } report
            ? Table(report.Rows, ["benchmark"], static r => [r.Method])
            : null;

    /// <summary>Issue 22's harness (benchmarks/ModelCaching.FleetHarness): the same Zipf trace over three instances, with and without placement.</summary>
    public static string? FleetPlacement(string data)
    {
        CsvTable? table = CsvTable.TryRead(Path.Combine(data, "FleetPlacement.csv"));
        if (table is null)
        {
            return null;
        }

        var text = new StringBuilder("| | requests | failed | model bytes resident (3 instances) | loads | load time (sum) | evictions | most copies of a name | through the router p50 | p99 | straight to an instance p50 | p99 |\n");
        text.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (string[] row in table.Rows)
        {
            string Ms(string column) => Format.Time(table.Number(row, column) * 1e6);
            text.Append("| ").Append(table.Text(row, "Mode")).Append(" | ").Append(Format.Count(table.Text(row, "Requests")))
                .Append(" | ").Append(Format.Count(table.Text(row, "Failed"))).Append(" | ").Append(Format.Bytes(table.Number(row, "ResidentBytes")))
                .Append(" | ").Append(Format.Count(table.Text(row, "Loads"))).Append(" | ").Append(Format.Time(table.Number(row, "LoadSeconds") * 1e9))
                .Append(" | ").Append(Format.Count(table.Text(row, "Evictions"))).Append(" | ").Append(Format.Count(table.Text(row, "MaxCopies")))
                .Append(" | ").Append(Ms("RouterP50Ms")).Append(" | ").Append(Ms("RouterP99Ms"))
                .Append(" | ").Append(Ms("DirectP50Ms")).Append(" | ").Append(Ms("DirectP99Ms")).Append(" |\n");
        }

        return text.ToString();
    }

    /// <summary>
    /// Leading columns, then mean, standard deviation (how noisy the run was) and allocation per call. No ratio column:
    /// BenchmarkDotNet computes Ratio from the two distributions of iterations rather than the two means, which on a noisy run puts the baseline itself far from
    /// 1 and reads as a contradiction; the means side by side are the comparison.
    /// </summary>
    private static string Table(IEnumerable<BdnRow> rows, string[] headings, Func<BdnRow, string[]> leading)
    {
        BdnRow[] list = [.. rows];
        bool allocated = list.Any(static r => !double.IsNaN(r.AllocatedBytes));
        var text = new StringBuilder("| " + string.Join(" | ", headings) + " | mean | stddev |" + (allocated ? " allocated |" : "") + "\n");
        text.Append('|').Append(string.Concat(headings.Select(static _ => "---|"))).Append("---:|---:|").Append(allocated ? "---:|" : "").Append('\n');
        foreach (BdnRow row in list)
        {
            text.Append("| ").Append(string.Join(" | ", leading(row).Select(static c => c.Replace("|", "\\|", StringComparison.Ordinal))))
                .Append(" | ").Append(Format.Time(row.MeanNs))
                .Append(" | ").Append(Format.Time(row.StdDevNs))
                .Append(allocated ? " | " + Format.Bytes(row.AllocatedBytes) : "").Append(" |\n");
        }

        return text.ToString();
    }
}

/// <summary>
/// docs/benchmarks.md with its generated blocks: the lines between <c>&lt;!-- results:NAME --&gt;</c> and
/// <c>&lt;!-- /results --&gt;</c> are replaced; everything else is kept as written.
/// </summary>
internal sealed class GeneratedPage(string text)
{
    public string Text { get; private set; } = text;

    public void Replace(string name, string content)
    {
        string start = $"<!-- results:{name} -->";
        const string End = "<!-- /results -->";
        int from = Text.IndexOf(start, StringComparison.Ordinal);
        int to = from < 0 ? -1 : Text.IndexOf(End, from, StringComparison.Ordinal);
        if (from < 0 || to < 0)
        {
            throw new InvalidDataException($"docs/benchmarks.md has no '{start}' … '{End}' block.");
        }

        int contentStart = from + start.Length;
        Text = Text[..contentStart] + "\n" + content.TrimEnd('\n') + "\n" + Text[to..];
    }
}
