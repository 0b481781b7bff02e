using System.Globalization;
using System.Text;
using ScottPlot;

namespace ModelCaching.Charts;

/// <summary>
/// Draws the charts at the top of docs/benchmarks.md, and the policy table beside them, from the CSV files in
/// docs/benchmarks/data (BenchmarkDotNet's CSV exports and the harnesses' CSV output). Run from the repository root:
/// <c>dotnet run -c Release --project benchmarks/ModelCaching.Charts [data folder] [image folder]</c>. A chart whose
/// data file is missing is skipped and said so.
/// </summary>
public static class Program
{
    private static readonly Color Ours = Color.FromHex("#1f77b4");
    private static readonly Color Peer = Color.FromHex("#9e9e9e");
    private static readonly Color Accent = Color.FromHex("#ff7f0e");

    public static int Main(string[] args)
    {
        string data = args.Length > 0 ? args[0] : Path.Combine("docs", "benchmarks", "data");
        string images = args.Length > 1 ? args[1] : Path.Combine("docs", "images");
        if (!Directory.Exists(data))
        {
            Console.Error.WriteLine($"No data folder '{data}'. Run from the repository root.");
            return 1;
        }

        Directory.CreateDirectory(images);
        var peers = PeerResults.Read(data);
        Draw("hit cost by policy and library", () => HitCost(peers, Path.Combine(images, "hit-cost.svg")));
        Draw("hit during a reload", () => HitDuringReload(peers, Path.Combine(images, "hit-during-reload.svg")));
        Draw("memory after idle", () => MemoryAfterIdle(peers, Path.Combine(images, "memory-after-idle.svg")));
        Draw("pooled predict", () => PooledPredict(data, Path.Combine(images, "pooled-predict.svg")));
        Draw("latency during reloads", () => ReloadLatency(Path.Combine(data, "ReloadUnderLoad.csv"), Path.Combine(images, "reload-latency.svg")));
        Draw("policy table", () => PolicyTable(peers, Path.Combine(data, "policy-table.md")));
        return 0;
    }

    private static void Draw(string what, Func<string?> draw)
    {
        string? written = draw();
        Console.WriteLine(written is null ? $"{what}: skipped (its data file is missing)." : $"{what}: wrote {written}.");
    }

    private static string? HitCost(PeerResults peers, string path)
    {
        if (peers.Steady.Count == 0)
        {
            return null;
        }

        // Sorted cheapest first; ours in blue, the peers in grey, ns per hit on a log-free linear axis.
        var rows = peers.Steady.OrderBy(static r => r.Value).ToList();
        Plot plot = HorizontalBars(rows.Select(static r => r.Name).ToArray(), rows.Select(static r => r.Value).ToArray(), rows.Select(static r => r.Name.StartsWith("ModelCaching", StringComparison.Ordinal) ? Ours : Peer).ToArray(), "0.0");
        plot.Title($"Steady hit on taxi-fare.zip (Lazy<T>.Value in the same run: {peers.LazyBaseline:0.0} ns)");
        plot.XLabel("ns per hit (BenchmarkDotNet mean; lower is better)");
        Save(plot, path, 900, 480);
        return path;
    }

    private static string? HitDuringReload(PeerResults peers, string path)
    {
        if (peers.Steady.Count == 0 || peers.Reloading.Count == 0)
        {
            return null;
        }

        string[] names = [.. peers.Steady.OrderBy(static r => r.Value).Select(static r => r.Name).Where(n => peers.Reloading.Any(r => r.Name == n))];
        var plot = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < names.Length; i++)
        {
            double steady = peers.Steady.First(r => r.Name == names[i]).Value;
            double reloading = peers.Reloading.First(r => r.Name == names[i]).Value;
            bars.Add(new Bar { Position = (i * 3) + 0, Value = steady, FillColor = Peer, Orientation = Orientation.Horizontal, Label = steady.ToString("0.0", CultureInfo.InvariantCulture) });
            bars.Add(new Bar { Position = (i * 3) + 1, Value = reloading, FillColor = Accent, Orientation = Orientation.Horizontal, Label = reloading.ToString("0.0", CultureInfo.InvariantCulture) });
        }

        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 10;
        plot.Axes.Left.SetTicks([.. names.Select(static (_, i) => (i * 3) + 0.5)], names);
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "steady", FillColor = Peer });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "while its code reloads back to back", FillColor = Accent });
        plot.ShowLegend(Edge.Bottom);
        plot.Axes.Margins(left: 0, right: 0.15);
        plot.Title("Hit during reloads (taxi-fare.zip, real reloads of a changed file)");
        plot.XLabel("ns per hit (BenchmarkDotNet mean; lower is better)");
        Save(plot, path, 900, 560);
        return path;
    }

    private static string? MemoryAfterIdle(PeerResults peers, string path)
    {
        if (peers.Memory.Count == 0)
        {
            return null;
        }

        var plot = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < peers.Memory.Count; i++)
        {
            (string name, double first, double idle, _) = peers.Memory[i];
            bars.Add(new Bar { Position = (i * 3) + 0, Value = first, FillColor = Peer, Orientation = Orientation.Horizontal, Label = first.ToString("0", CultureInfo.InvariantCulture) });
            bars.Add(new Bar { Position = (i * 3) + 1, Value = idle, FillColor = name.StartsWith("ModelCaching", StringComparison.Ordinal) ? Ours : Accent, Orientation = Orientation.Horizontal, Label = idle.ToString("0", CultureInfo.InvariantCulture) });
        }

        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 10;
        plot.Axes.Left.SetTicks([.. peers.Memory.Select(static (_, i) => (i * 3) + 0.5)], [.. peers.Memory.Select(static m => m.Reachable == 0 ? m.Name + " (model freed)" : m.Name)]);
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "after the first request", FillColor = Peer });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "after 2.5 s idle (1 s idle expiry where there is one)", FillColor = Accent });
        plot.ShowLegend(Edge.Bottom);
        plot.Axes.Margins(left: 0, right: 0.15);
        plot.Title("Managed heap held for taxi-fare.zip (each holder with its own MLContext)");
        plot.XLabel("KB (median of the rounds; lower is better after idle)");
        Save(plot, path, 900, 560);
        return path;
    }

    private static string? PooledPredict(string data, string path)
    {
        // The Prediction section's own export when present, else the newest other export.
        string own = Path.Combine(data, "PredictionBenchmarks.csv");
        string? file = File.Exists(own) ? own : Directory.GetFiles(data, "PredictionBenchmarks*.csv").OrderBy(static f => File.GetLastWriteTimeUtc(f)).LastOrDefault();
        CsvTable? table = file is null ? null : CsvTable.TryRead(file);
        if (table is null || !table.Has("Threads"))
        {
            return null;
        }

        // The rows a user compares: raw engine, our pools, the compatible drop-in, and the peer pool; not the per-call loads.
        string[] methods = [.. table.Rows.Select(r => table.Text(r, "Method")).Distinct().Where(static m => !m.Contains("new engine", StringComparison.Ordinal) && !m.Contains("load model", StringComparison.Ordinal))];
        var plot = new Plot();
        var bars = new List<Bar>();
        string[] threads = [.. table.Rows.Select(r => table.Text(r, "Threads")).Distinct()];
        Color[] colors = [Ours, Accent];
        for (int m = 0; m < methods.Length; m++)
        {
            for (int t = 0; t < threads.Length; t++)
            {
                string[]? row = table.Rows.FirstOrDefault(r => table.Text(r, "Method") == methods[m] && table.Text(r, "Threads") == threads[t]);
                if (row is not null)
                {
                    double ns = table.Number(row, "Mean");
                    bars.Add(new Bar { Position = (m * (threads.Length + 1)) + t, Value = ns, FillColor = colors[t % colors.Length], Orientation = Orientation.Horizontal, Label = ns.ToString("0", CultureInfo.InvariantCulture) });
                }
            }
        }

        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 10;
        plot.Axes.Left.SetTicks([.. methods.Select((_, m) => (m * (threads.Length + 1)) + ((threads.Length - 1) / 2.0))], [.. methods.Select(static m => m.Trim('\''))]);
        for (int t = 0; t < threads.Length; t++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"{threads[t]} thread(s)", FillColor = colors[t % colors.Length] });
        }

        plot.ShowLegend(Edge.Bottom);
        plot.Axes.Margins(left: 0, right: 0.15);
        plot.Title($"Predict on iris.zip ({Path.GetFileName(file)})");
        plot.XLabel("ns per prediction on each thread (mean; lower is better)");
        Save(plot, path, 1000, 600);
        return path;
    }

    private static string? ReloadLatency(string csv, string path)
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
        plot.Title("PredictionPool.Predict latency: steady, reloads every 100 ms, steady (iris.zip)");
        plot.XLabel("seconds since the warm-up ended");
        plot.YLabel("µs per call (log scale)");
        Save(plot, path, 1000, 450);
        return path;
    }

    private static string? PolicyTable(PeerResults peers, string path)
    {
        if (peers.Steady.Count == 0)
        {
            return null;
        }

        // One unit per column, one baseline (Lazy<T>.Value measured in the same run); the same numbers as the charts.
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| holder | steady hit (ns) | ratio to `Lazy<T>.Value` ({peers.LazyBaseline:0.0} ns) | hit while reloading (ns) | first request after start (ms) | heap held after the first request (KB) | heap held after idle (KB) | lines of user code for hot reload with fail-safe |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string name in peers.Names)
        {
            string steady = Cell(peers.Steady, name, "0.0");
            string ratio = peers.Steady.FirstOrDefault(r => r.Name == name) is { Name: not null } s ? (s.Value / peers.LazyBaseline).ToString("0.0", CultureInfo.InvariantCulture) + "×" : "–";
            string reloading = Cell(peers.Reloading, name, "0.0");
            string first = Cell(peers.FirstRequest, name, "0.00");
            (string Name, double First, double Idle, int Reachable) memory = peers.Memory.FirstOrDefault(m => m.Name == name);
            string lines = peers.Lines.TryGetValue(name, out int count) ? count.ToString(CultureInfo.InvariantCulture) : name.StartsWith("ModelCaching", StringComparison.Ordinal) && peers.Lines.TryGetValue("ModelCaching (any policy)", out int ours) ? ours.ToString(CultureInfo.InvariantCulture) : "–";
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {steady} | {ratio} | {reloading} | {first} | {(memory.Name is null ? "–" : memory.First.ToString("0", CultureInfo.InvariantCulture))} | {(memory.Name is null ? "–" : memory.Idle.ToString("0", CultureInfo.InvariantCulture))} | {lines} |");
        }

        File.WriteAllText(path, text.ToString());
        Console.Write(text);
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

    private static string Cell(List<(string Name, double Value)> rows, string name, string format) =>
        rows.FirstOrDefault(r => r.Name == name) is { Name: not null } row ? row.Value.ToString(format, CultureInfo.InvariantCulture) : "–";

    private static Plot HorizontalBars(string[] labels, double[] values, Color[] colors, string format)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < values.Length; i++)
        {
            bars.Add(new Bar { Position = i, Value = values[i], FillColor = colors[i], Orientation = Orientation.Horizontal, Label = values[i].ToString(format, CultureInfo.InvariantCulture) });
        }

        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 11;
        plot.Axes.Left.SetTicks([.. labels.Select(static (_, i) => (double)i)], labels);
        plot.Axes.Margins(left: 0, right: 0.15);
        return plot;
    }

    private static double Percentile(double[] values, double percentile)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? 0 : sorted[(int)Math.Min(sorted.Length - 1, Math.Round(percentile / 100 * (sorted.Length - 1)))];
    }
}
