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
        foreach ((string name, string? table) in new[] { ("policy", Policy(data)), ("hit", Hit(data)), ("pooling", Pooling(data)), ("reload", Reload(data)), ("many-models", ManyModels(data)), ("onnx", Onnx(data)), ("fleet", Fleet(data)), ("fleet-placement", FleetPlacement(data)), ("thread-affinity", ThreadAffinity(data)), ("outside", Outside(data)) })
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
            ? Table(report.Rows, ["benchmark"], static r => [r.Method], BdnReport.TryRead(data, "CacheHitBenchmarks" + BeforeAfter.Suffix))
            : null;

    public static string? Pooling(string data) =>
        BdnReport.TryRead(data, "PredictionBenchmarks", "Threads") is { } report
            ? Table(report.Rows.OrderBy(static r => r.Parameter("Threads"), StringComparer.Ordinal), ["benchmark", "threads"], static r => [r.Method, r.Parameter("Threads")], BdnReport.TryRead(data, "PredictionBenchmarks" + BeforeAfter.Suffix, "Threads"))
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
            ? Table(report.Rows, ["benchmark", "names looked up"], static r => [r.Method, r.Parameter("Access")], BdnReport.TryRead(data, "LookupByNameBenchmarks" + BeforeAfter.Suffix, "Access"))
            : null;

    /// <summary>ThreadAffinityBenchmarks (issue 18's per-thread schemes): one row per scheme, 1 and 2 threads side by side.</summary>
    public static string? ThreadAffinity(string data)
    {
        if (BdnReport.TryRead(data, "ThreadAffinityBenchmarks", "Threads") is not { } report)
        {
            return null;
        }

        var text = new StringBuilder("| scheme (time per call on each thread) | 1 thread | stddev | 2 threads | stddev |\n|---|---:|---:|---:|---:|\n");
        foreach (string method in report.Rows.Select(static r => r.Method).Distinct())
        {
            text.Append("| ").Append(Cell(method));
            foreach (string threads in new[] { "1", "2" })
            {
                BdnRow? row = report.Find(method, "Threads", threads);
                text.Append(" | ").Append(Format.Time(row?.MeanNs ?? double.NaN)).Append(" | ").Append(Format.Time(row?.StdDevNs ?? double.NaN));
            }

            text.Append(" |\n");
        }

        return text.ToString();
    }

    /// <summary>
    /// The pooled predict seen from an outside project (benchmarks/run-outside.sh): BenchmarkDotNet's PoolVsRawBenchmarks
    /// (mean time of each pool over the raw engine's, one thread) and the throughput loop (pool throughput per thread
    /// over one raw engine per thread: median of the rounds, or of several processes' medians), each against issue 18's budget.
    /// </summary>
    public static string? Outside(string data)
    {
        BdnReport? bdn = BdnReport.TryRead(data, "OutsideBenchmarks", OutsideBudget.SetupParameter);
        CsvTable? loop = CsvTable.TryRead(Path.Combine(data, "OutsideLoop.csv"));
        if (bdn is null || loop is null)
        {
            // run-results.sh fails when benchmarks/run-outside.sh exists and writes no file; without the script there is none.
            return bdn is null && loop is null ? "> Not in this run: it had no benchmarks/run-outside.sh (OutsideBenchmarks.csv and OutsideLoop.csv).\n" : null;
        }

        var text = new StringBuilder("| view | threads | way | measured | budget | within budget |\n|---|---|---|---:|---|---|\n");
        foreach (BdnRow row in bdn.Rows.Where(static r => !OutsideBudget.IsBaseline(r)))
        {
            double ratio = OutsideBudget.TimeRatio(bdn, row);
            string setup = row.Parameter(OutsideBudget.SetupParameter);
            bool control = OutsideBudget.IsRaw(row);
            text.Append("| BenchmarkDotNet: mean / raw engine's").Append(setup.Length > 0 ? $" ({OutsideBudget.SetupParameter}={setup})" : "")
                .Append(" | 1 | ").Append(OutsideBudget.Way(row)).Append(" | ").Append(Format.Ratio(ratio))
                .Append(" | ").Append(control ? "–" : OutsideBudget.TimeBudgetText).Append(" | ").Append(control ? "–" : Format.YesNo(OutsideBudget.TimeHolds(ratio))).Append(" |\n");
        }

        foreach (string[] row in loop.Rows)
        {
            string threads = loop.Text(row, "Threads");
            double median = loop.Number(row, "MedianRatio");
            // A run of several processes (run-outside.sh's Launches) gives the median of the processes' medians: tiered PGO
            // draws a fast or a slower compiled engine per process, so one process is one draw.
            text.Append(loop.Has("Launches")
                    ? $"| throughput loop: median of {loop.Text(row, "Launches")} processes' medians of {loop.Text(row, "Rounds")} rounds each (processes "
                    : $"| throughput loop: median of {loop.Text(row, "Rounds")} rounds (")
                .Append(Format.Ratio(loop.Number(row, "MinRatio"))).Append(" to ").Append(Format.Ratio(loop.Number(row, "MaxRatio"))).Append(')')
                .Append(" | ").Append(threads).Append(" | ").Append(loop.Text(row, "Way")).Append(" | ").Append(Format.Ratio(median))
                .Append(" | ").Append(OutsideBudget.ThroughputBudgetText(threads)).Append(" | ").Append(Format.YesNo(OutsideBudget.ThroughputHolds(threads, median))).Append(" |\n");
        }

        return text.ToString();
    }

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
    /// <remarks>
    /// With <paramref name="before"/> (the same class built from the revision before issue 18, same sitting), three more
    /// columns: its mean, now / before (of the means), and whether the row is the same or faster (<see cref="BeforeAfter"/>).
    /// </remarks>
    private static string Table(IEnumerable<BdnRow> rows, string[] headings, Func<BdnRow, string[]> leading, BdnReport? before = null)
    {
        BdnRow[] list = [.. rows];
        bool allocated = list.Any(static r => !double.IsNaN(r.AllocatedBytes));
        var text = new StringBuilder("| " + string.Join(" | ", headings) + " | mean | stddev |" + (allocated ? " allocated |" : "") + (before is null ? "" : " before issue 18 | now / before | same or faster |") + "\n");
        text.Append('|').Append(string.Concat(headings.Select(static _ => "---|"))).Append("---:|---:|").Append(allocated ? "---:|" : "").Append(before is null ? "" : "---:|---:|---|").Append('\n');
        foreach (BdnRow row in list)
        {
            text.Append("| ").Append(string.Join(" | ", leading(row).Select(Cell)))
                .Append(" | ").Append(Format.Time(row.MeanNs))
                .Append(" | ").Append(Format.Time(row.StdDevNs))
                .Append(allocated ? " | " + Format.Bytes(row.AllocatedBytes) : "");
            if (before is not null)
            {
                BdnRow? then = BeforeAfter.Match(before, row);
                text.Append(" | ").Append(Format.Time(then?.MeanNs ?? double.NaN))
                    .Append(" | ").Append(then is null ? "–" : Format.Ratio(row.MeanNs / then.MeanNs))
                    .Append(" | ").Append(then is null ? "–" : Format.YesNo(BeforeAfter.SameOrFaster(row, then)));
            }

            text.Append(" |\n");
        }

        return text.ToString();
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}

/// <summary>
/// Issue 18's before/after: the same benchmark class built from the revision before the refactor and run in the same
/// sitting (<c>CLASS.before.csv</c>). A row is "the same or faster" when its mean now is at most the mean before plus
/// both rows' standard deviations (a difference within the noise of the two rows is "the same").
/// </summary>
internal static class BeforeAfter
{
    public const string Suffix = ".before";

    public static BdnRow? Match(BdnReport before, BdnRow now) =>
        before.Rows.FirstOrDefault(r => r.Method == now.Method && r.Parameters.Count == now.Parameters.Count && r.Parameters.All(p => now.Parameter(p.Key) == p.Value));

    public static bool SameOrFaster(BdnRow now, BdnRow before) => now.MeanNs <= before.MeanNs + before.StdDevNs + now.StdDevNs;
}

/// <summary>
/// Issue 18's budget for the pooled predict seen from outside: at most 1.05 times the raw engine's time at 1 thread, and
/// at least 0.90 of one raw engine per thread's throughput at 2 threads. The loop's ratios are throughputs, so its 1-thread
/// budget is the same time budget turned over (1/1.05).
/// </summary>
internal static class OutsideBudget
{
    public const string SetupParameter = "CheckInSetup";
    public const string TimeBudgetText = "≤ 1.05×";
    private const double TimeBudget = 1.05;
    private const double TwoThreadBudget = 0.90;

    /// <summary>The raw engine: the baseline, or the same code measured again as a control (how far the harness moves identical code).</summary>
    public static bool IsRaw(BdnRow row) => row.Method.StartsWith("raw", StringComparison.Ordinal);

    public static bool IsBaseline(BdnRow row) => IsRaw(row) && !row.Method.Contains("control", StringComparison.Ordinal);

    /// <summary>The loop's name for a benchmark's way: the compatible <c>PredictionEnginePool</c> or the native <c>PredictionPool</c>.</summary>
    public static string Way(BdnRow row) =>
        IsRaw(row) ? "raw engine again (control)" : row.Method.Contains("PredictionEnginePool", StringComparison.Ordinal) ? "compatible" : "native";

    /// <summary>The row's mean over the raw engine's mean in the same setup (the same parameter values).</summary>
    public static double TimeRatio(BdnReport report, BdnRow row) =>
        row.MeanNs / report.Rows.Single(r => IsBaseline(r) && r.Parameter(SetupParameter) == row.Parameter(SetupParameter)).MeanNs;

    public static bool TimeHolds(double ratio) => ratio <= TimeBudget;

    public static string ThroughputBudgetText(string threads) => threads == "1" ? "≥ 1/1.05 (time ≤ 1.05×)" : "≥ 0.90×";

    public static bool ThroughputHolds(string threads, double ratio) => threads == "1" ? ratio >= 1 / TimeBudget : ratio >= TwoThreadBudget;
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
