using System.Globalization;
using System.Text;
using ModelCaching.Redis;

namespace ModelCaching.FleetHarness;

/// <summary>One mode's figures: the trace's outcome, what the three instances hold and loaded, and the latencies.</summary>
internal sealed record HarnessRow(
    string Mode,
    string RoutedBy,
    int Requests,
    long Failed,
    string? FirstFailure,
    long ResidentBytes,
    long Loads,
    double LoadSeconds,
    long Evictions,
    int DistinctLoaded,
    int MaxCopies,
    int NamesOverReplicas,
    double TraceSeconds,
    double TraceP50Ms,
    double TraceP99Ms,
    double RouterP50Ms,
    double RouterP99Ms,
    double DirectP50Ms,
    double DirectP99Ms)
{
    public string Describe() =>
        $"  {Mode}: {Requests:N0} requests in {TraceSeconds:F1} s, {Failed} failed{(FirstFailure is null ? "" : $" (first: {FirstFailure})")}; "
        + $"resident {ResidentBytes:N0} B, {Loads:N0} loads taking {LoadSeconds:F1} s, {Evictions:N0} evictions; "
        + $"{DistinctLoaded:N0} names loaded, at most {MaxCopies} copies of one";

    public static string Table(IReadOnlyList<HarnessRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| | " + string.Join(" | ", rows.Select(r => r.Mode)) + " |");
        text.AppendLine("|---|" + string.Concat(rows.Select(_ => "---:|")));
        void Line(string name, Func<HarnessRow, string> value) => text.AppendLine($"| {name} | " + string.Join(" | ", rows.Select(value)) + " |");
        Line("requests routed by", r => r.RoutedBy);
        Line("requests (failed)", r => $"{r.Requests:N0} ({r.Failed:N0})");
        Line("resident tenant bytes, 3 instances", r => r.ResidentBytes.ToString("N0", CultureInfo.InvariantCulture));
        Line("tenant loads, 3 instances", r => r.Loads.ToString("N0", CultureInfo.InvariantCulture));
        Line("load time, 3 instances (s)", r => r.LoadSeconds.ToString("F1", CultureInfo.InvariantCulture));
        Line("evictions", r => r.Evictions.ToString("N0", CultureInfo.InvariantCulture));
        Line("names loaded at the end (most copies of one)", r => $"{r.DistinctLoaded:N0} ({r.MaxCopies})");
        Line("trace p50 / p99 (ms)", r => $"{r.TraceP50Ms:F2} / {r.TraceP99Ms:F2}");
        Line("hot tenant via router p50 / p99 (ms)", r => $"{r.RouterP50Ms:F2} / {r.RouterP99Ms:F2}");
        Line("hot tenant straight to an instance p50 / p99 (ms)", r => $"{r.DirectP50Ms:F2} / {r.DirectP99Ms:F2}");
        return text.ToString();
    }

    public static string Csv(IReadOnlyList<HarnessRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("Mode,RoutedBy,Requests,Failed,ResidentBytes,Loads,LoadSeconds,Evictions,DistinctLoaded,MaxCopies,NamesOverReplicas,TraceSeconds,TraceP50Ms,TraceP99Ms,RouterP50Ms,RouterP99Ms,DirectP50Ms,DirectP99Ms");
        foreach (HarnessRow r in rows)
        {
            text.AppendLine(string.Join(',',
                r.Mode, $"\"{r.RoutedBy}\"", I(r.Requests), I(r.Failed), I(r.ResidentBytes), I(r.Loads), F(r.LoadSeconds), I(r.Evictions), I(r.DistinctLoaded), I(r.MaxCopies), I(r.NamesOverReplicas),
                F(r.TraceSeconds), F(r.TraceP50Ms), F(r.TraceP99Ms), F(r.RouterP50Ms), F(r.RouterP99Ms), F(r.DirectP50Ms), F(r.DirectP99Ms)));
        }

        return text.ToString();
    }

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("F3", CultureInfo.InvariantCulture);
}

/// <summary>Runs one mode: the trace through the router (or to the owners), then the instances' figures, then the latency pairs.</summary>
internal static class HarnessRun
{

    private const int HotTenants = 10;

    public static async Task<HarnessRow> RunAsync(RoutedFleet fleet, int[] trace, HarnessOptions options)
    {
        bool placement = fleet.Options.Placement;
        IReadOnlyList<string> ids = fleet.LiveInstanceIds();
        Dictionary<string, ServiceProcess> byId = fleet.Instances.ToDictionary(i => i.Name, StringComparer.Ordinal);
        HttpClient Owner(int tenant) => byId[FleetPlacement.Owners(TenantModels.ModelName(tenant), ids, options.Replicas)[0]].Client;
        Func<int, HttpClient> target = _ => fleet.Router.Client;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<TraceRequest> requests;
        await using (var loop = new TraceLoop(trace, target, options.Concurrency))
        {
            requests = await loop.CompleteAsync();
        }

        double traceSeconds = clock.Elapsed.TotalSeconds;
        InstanceStats[] stats = await Task.WhenAll(fleet.Instances.Select(InstanceStats.ReadAsync));
        Dictionary<string, int> copies = stats.SelectMany(s => s.Loaded).GroupBy(n => n, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

        // Router overhead: the hot tenants (loaded wherever the trace sent them) one request at a time, in alternating
        // blocks through the router and straight to an instance, so both see the same machine at the same moments.
        var viaRouterLatency = new List<double>();
        var directLatency = new List<double>();
        int[] hot = [.. Enumerable.Range(0, 100).Select(k => k % HotTenants)];
        int turn = 0;
        for (int block = 0; block < options.LatencyRequests / 200; block++)
        {
            viaRouterLatency.AddRange(await LatenciesAsync(hot, _ => fleet.Router.Client));
            directLatency.AddRange(await LatenciesAsync(hot, tenant => placement ? Owner(tenant) : fleet.Instances[turn++ % fleet.Instances.Count].Client));
        }

        double[] traceLatency = [.. requests.Select(r => r.Latency.TotalMilliseconds)];
        return new HarnessRow(
            placement ? $"with placement (R={options.Replicas})" : "without placement",
            placement ? "router (ModelCaching.Routing)" : "router (YARP round-robin)",
            requests.Count,
            requests.Count(r => !r.Succeeded),
            requests.FirstOrDefault(r => !r.Succeeded)?.Problem,
            stats.Sum(s => s.ResidentBytes),
            stats.Sum(s => s.Loads),
            stats.Sum(s => s.LoadSeconds),
            stats.Sum(s => s.Evictions),
            copies.Count,
            copies.Count == 0 ? 0 : copies.Values.Max(),
            copies.Values.Count(c => c > options.Replicas),
            traceSeconds,
            Percentile(traceLatency, 0.50),
            Percentile(traceLatency, 0.99),
            Percentile(viaRouterLatency, 0.50),
            Percentile(viaRouterLatency, 0.99),
            Percentile(directLatency, 0.50),
            Percentile(directLatency, 0.99));
    }

    private static async Task<IEnumerable<double>> LatenciesAsync(int[] tenants, Func<int, HttpClient> target)
    {
        await using var loop = new TraceLoop(tenants, target, concurrency: 1);
        IReadOnlyList<TraceRequest> requests = await loop.CompleteAsync();
        TraceRequest? failed = requests.FirstOrDefault(r => !r.Succeeded);
        return failed is null ? requests.Select(r => r.Latency.TotalMilliseconds) : throw new InvalidOperationException($"a latency request failed: {failed.Problem}");
    }

    /// <summary>The nearest-rank percentile of <paramref name="values"/> (0 when empty).</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double quantile)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        double[] sorted = [.. values.Order()];
        return sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
