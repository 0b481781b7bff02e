using System.Globalization;
using ScottPlot;

namespace ModelCaching.Charts;

/// <summary>
/// Draws the charts of docs/benchmarks.md and writes its tables between the page's generated markers, from the CSV
/// files benchmarks/run-results.sh copied to docs/benchmarks/data/results (BenchmarkDotNet's CSV reports, the
/// reload-under-load harness's output, the machine). Run from the repository root:
/// <c>dotnet run -c Release --project benchmarks/ModelCaching.Charts [results folder] [image folder] [page]</c>.
/// A chart or table whose data file is missing is skipped and said so; the page keeps its previous block.
/// </summary>
public static class Program
{
    private static readonly Color Ours = Color.FromHex("#1f77b4");
    private static readonly Color Peer = Color.FromHex("#9e9e9e");
    private static readonly Color Accent = Color.FromHex("#ff7f0e");

    public static int Main(string[] args)
    {
        string data = args.Length > 0 ? args[0] : Path.Combine("docs", "benchmarks", "data", "results");
        string images = args.Length > 1 ? args[1] : Path.Combine("docs", "images");
        string pagePath = args.Length > 2 ? args[2] : Path.Combine("docs", "benchmarks.md");
        if (!Directory.Exists(data) || !File.Exists(pagePath))
        {
            Console.Error.WriteLine($"No results folder '{data}' or no page '{pagePath}'. Run from the repository root.");
            return 1;
        }

        Directory.CreateDirectory(images);
        var page = new GeneratedPage(File.ReadAllText(pagePath));
        foreach (string skipped in ResultTables.WriteAll(page, data))
        {
            Console.WriteLine($"{skipped}: table skipped (its data file is missing).");
        }

        Draw("policy", () => PolicyChart(data, Path.Combine(images, "policy-first-request.svg")));
        Draw("hit", () => HitChart(data, Path.Combine(images, "hit-cost.svg")));
        Draw("pooling", () => ThreadsChart(BdnReport.TryRead(data, "PredictionBenchmarks", "Threads"), "Predict on iris.zip: pooled, raw and other ways to share engines", "time per prediction on each thread (mean; lower is better)", Path.Combine(images, "pooled-predict.svg")));
        Draw("reload", () => ReloadChart(Path.Combine(data, "ReloadUnderLoadSeries.csv"), Path.Combine(images, "reload-latency.svg")));
        Draw("many-models", () => ManyModelsChart(data, Path.Combine(images, "many-models.svg")));
        Draw("onnx", () => ThreadsChart(BdnReport.TryRead(data, "OnnxBenchmarks", "Threads"), "ONNX Runtime Run on breast-cancer-multiclass.onnx: raw session against the cache's", "time per Run on each thread (mean; lower is better)", Path.Combine(images, "onnx.svg")));
        Draw("fleet", () => FleetChart(data, Path.Combine(images, "fleet-hit.svg")));
        File.WriteAllText(pagePath, page.Text);
        Console.WriteLine($"Wrote {pagePath}.");
        return 0;
    }

    private static void Draw(string name, Func<string?> draw)
    {
        string? written = draw();
        Console.WriteLine(written is null ? $"{name}: chart skipped (its data file is missing)." : $"{name}: wrote {written}.");
    }

    private static string? PolicyChart(string data, string path)
    {
        BdnReport? report = BdnReport.TryRead(data, "PolicyComparisonBenchmarks");
        if (report is null)
        {
            return null;
        }

        // Host start and the first request, in the order a user meets them; the hit-during-refresh rows belong to the reload section.
        BdnRow[] rows = [.. report.Rows.Where(static r => r.Category is "start-up" or "first request").OrderBy(static r => r.Category == "start-up" ? 0 : 1)];
        return Bars(rows.Select(static r => (r.Category + ": " + r.Method, r.MeanNs, r.Method.StartsWith("no cache", StringComparison.Ordinal) ? Peer : Ours)).ToArray(), "Host start and first request per policy (taxi-fare.zip)", 1e6, "ms", path);
    }

    private static string? HitChart(string data, string path)
    {
        BdnReport? report = BdnReport.TryRead(data, "CacheHitBenchmarks");
        if (report is null)
        {
            return null;
        }

        bool IsOurs(BdnRow r) => r.Method.StartsWith("GetModel", StringComparison.Ordinal) || r.Method.StartsWith("Acquire", StringComparison.Ordinal);
        return Bars(report.Rows.Select(r => (r.Method, r.MeanNs, IsOurs(r) ? Ours : Peer)).ToArray(), "A cache hit against a static field, Lazy<T> and MemoryCache", 1, "ns", path);
    }

    private static string? ManyModelsChart(string data, string path)
    {
        BdnReport? report = BdnReport.TryRead(data, "LookupByNameBenchmarks", "Access");
        if (report is null)
        {
            return null;
        }

        return Bars(report.Rows.Select(static r => (r.Method + " (" + r.Parameter("Access") + ")", r.MeanNs, r.Method.StartsWith("Concurrent", StringComparison.Ordinal) ? Peer : Ours)).ToArray(), "A model found by its name, against a dictionary lookup", 1, "ns", path);
    }

    private static string? FleetChart(string data, string path)
    {
        BdnReport? report = BdnReport.TryRead(data, "FleetHitBenchmarks");
        if (report is null)
        {
            return null;
        }

        return Bars(report.Rows.Select(static r => (r.Method, r.MeanNs, r.Method.Contains("no fleet", StringComparison.Ordinal) ? Peer : Ours)).ToArray(), "The hit path with and without a Redis fleet", 1, "ns", path);
    }

    /// <summary>One bar per row, in the report's order, labelled with the value in <paramref name="unit"/>.</summary>
    private static string Bars((string Label, double Ns, Color Color)[] rows, string title, double nsPerUnit, string unit, string path)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < rows.Length; i++)
        {
            double value = rows[i].Ns / nsPerUnit;
            bars.Add(new Bar { Position = rows.Length - 1 - i, Value = value, FillColor = rows[i].Color, Orientation = Orientation.Horizontal, Label = Format.Time(rows[i].Ns) });
        }

        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 11;
        plot.Axes.Left.SetTicks([.. rows.Select((_, i) => (double)(rows.Length - 1 - i))], [.. rows.Select(static r => r.Label)]);
        plot.Axes.Margins(left: 0, right: 0.2);
        plot.Title(title);
        plot.XLabel($"{unit} (BenchmarkDotNet mean; lower is better)");
        Save(plot, path, 1000, 120 + (40 * rows.Length));
        return path;
    }

    /// <summary>One group of bars per benchmark, one bar per thread count.</summary>
    private static string? ThreadsChart(BdnReport? report, string title, string xLabel, string path)
    {
        if (report is null)
        {
            return null;
        }

        string[] methods = [.. report.Rows.Select(static r => r.Method).Distinct()];
        string[] threads = report.Distinct("Threads");
        Color[] colors = [Ours, Accent];
        var plot = new Plot();
        var bars = new List<Bar>();
        double Position(int m, int t) => ((methods.Length - 1 - m) * (threads.Length + 1)) + t;
        for (int m = 0; m < methods.Length; m++)
        {
            for (int t = 0; t < threads.Length; t++)
            {
                if (report.Find(methods[m], "Threads", threads[t]) is { } row)
                {
                    bars.Add(new Bar { Position = Position(m, t), Value = row.MeanNs, FillColor = colors[t % colors.Length], Orientation = Orientation.Horizontal, Label = Format.Time(row.MeanNs) });
                }
            }
        }

        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 10;
        plot.Axes.Left.SetTicks([.. methods.Select((_, m) => Position(m, 0) + ((threads.Length - 1) / 2.0))], methods);
        for (int t = 0; t < threads.Length; t++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = threads[t] == "1" ? "1 thread" : $"{threads[t]} threads", FillColor = colors[t % colors.Length] });
        }

        plot.ShowLegend(Edge.Bottom);
        plot.Axes.Margins(left: 0, right: 0.2);
        plot.Title(title);
        plot.XLabel("ns, " + xLabel);
        Save(plot, path, 1000, 160 + (30 * bars.Count));
        return path;
    }

    private static string? ReloadChart(string csv, string path)
    {
        CsvTable? table = CsvTable.TryRead(csv);
        if (table is null)
        {
            return null;
        }

        double[] time = [.. table.Rows.Select(r => table.Number(r, "TimeMs") / 1000)];
        double[] mean = [.. table.Rows.Select(r => table.Number(r, "MeanUs"))];
        double[] max = [.. table.Rows.Select(r => table.Number(r, "MaxUs"))];
        bool[] swapping = [.. table.Rows.Select(r => table.Number(r, "Swapping") > 0)];

        var plot = new Plot();
        for (int i = 0; i < time.Length; i++)
        {
            if (swapping[i])
            {
                var span = plot.Add.HorizontalSpan(time[i], time[i] + 0.01);
                span.FillStyle.Color = Accent.WithAlpha(0.25);
                span.LineStyle.Width = 0;
            }
        }

        // A log scale: the mean call is a fraction of a microsecond, the slowest call in a bucket (a preempted thread,
        // a GC) up to milliseconds, and both must stay readable.
        double[] logMax = [.. max.Select(static v => Math.Log10(Math.Max(v, 0.01)))];
        double[] logMean = [.. mean.Select(static v => Math.Log10(Math.Max(v, 0.01)))];
        var maxLine = plot.Add.ScatterPoints(time, logMax);
        maxLine.Color = Peer;
        maxLine.MarkerSize = 2;
        maxLine.LegendText = "slowest call in each 10 ms";
        var meanLine = plot.Add.ScatterLine(time, logMean);
        meanLine.Color = Ours;
        meanLine.LineWidth = 1.5f;
        meanLine.LegendText = "mean call in each 10 ms";
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "a reload running (load, warm-up, swap)", FillColor = Accent.WithAlpha(0.4) });
        plot.ShowLegend();
        plot.Legend.Alignment = Alignment.UpperRight;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = static y => Math.Pow(10, y).ToString("0.##", CultureInfo.InvariantCulture),
        };
        plot.Axes.SetLimitsY(Math.Floor(logMean.Min()) - 0.2, Math.Ceiling(logMax.Max()) + 0.8);
        plot.Title("PredictionPool.Predict latency: steady, reloading in a loop, steady again (iris.zip)");
        plot.XLabel("seconds since the warm-up ended");
        plot.YLabel("µs per call (log scale)");
        Save(plot, path, 1000, 450);
        return path;
    }

    // SVG for the docs; with MC_CHARTS_PNG=1 also a PNG beside it (for a quick look where SVG is not displayed).
    private static void Save(Plot plot, string path, int width, int height)
    {
        plot.SaveSvg(path, width, height);
        if (Environment.GetEnvironmentVariable("MC_CHARTS_PNG") == "1")
        {
            plot.SavePng(Path.ChangeExtension(path, ".png"), width, height);
        }
    }
}
