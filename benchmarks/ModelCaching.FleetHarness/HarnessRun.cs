using System.Globalization;
using System.Text;

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
    double DirectP99Ms,
    int LatencySamples,
    double SettleSeconds,
    bool Settled,
    KillOutcome? Kill = null)
{
    public string Describe() =>
        $"  {Mode}: {Requests:N0} requests in {TraceSeconds:F1} s, {Failed} failed{(FirstFailure is null ? "" : $" (first: {FirstFailure})")}; "
        + $"resident {ResidentBytes:N0} B, {Loads:N0} loads taking {LoadSeconds:F1} s, {Evictions:N0} evictions; "
        + $"{DistinctLoaded:N0} names loaded, at most {MaxCopies} copies of one; "
        + (Kill is not null ? "no latency pairs after a kill" : $"{(Settled ? "quiet" : "NOT quiet (bound passed)")} {SettleSeconds:F0} s after the trace, then {LatencySamples:N0} hot-tenant requests each way")
        + (Kill is null ? "" : Environment.NewLine + Kill.Describe());

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
        Line("hot tenant via router p50 / p99 (ms)", r => r.Kill is not null ? "-" : $"{r.RouterP50Ms:F2} / {r.RouterP99Ms:F2}");
        Line("hot tenant straight to an instance p50 / p99 (ms)", r => r.Kill is not null ? "-" : $"{r.DirectP50Ms:F2} / {r.DirectP99Ms:F2}");
        Line("hot-tenant requests each way (after the fleet was quiet for)", r => r.Kill is not null ? "- (not after a kill)" : $"{r.LatencySamples:N0} ({r.SettleSeconds:F0} s{(r.Settled ? "" : ", bound passed")})");
        if (rows.Any(r => r.Kill is not null))
        {
            foreach ((string name, Func<KillOutcome, string> value) in KillOutcome.TableRows())
            {
                Line(name, r => r.Kill is null ? "-" : value(r.Kill));
            }
        }

        return text.ToString();
    }

    /// <summary>The rows as CSV; a kill's columns come last, and only when a row has a kill, so a file without one is as before.</summary>
    public static string Csv(IReadOnlyList<HarnessRow> rows)
    {
        bool kill = rows.Any(r => r.Kill is not null);
        var text = new StringBuilder();
        text.AppendLine("Mode,RoutedBy,Requests,Failed,ResidentBytes,Loads,LoadSeconds,Evictions,DistinctLoaded,MaxCopies,NamesOverReplicas,TraceSeconds,TraceP50Ms,TraceP99Ms,RouterP50Ms,RouterP99Ms,DirectP50Ms,DirectP99Ms,LatencySamples,SettleSeconds,Settled"
            + (kill ? "," + KillOutcome.CsvHeader : ""));
        foreach (HarnessRow r in rows)
        {
            text.AppendLine(string.Join(',',
                r.Mode, $"\"{r.RoutedBy}\"", I(r.Requests), I(r.Failed), I(r.ResidentBytes), I(r.Loads), F(r.LoadSeconds), I(r.Evictions), I(r.DistinctLoaded), I(r.MaxCopies), I(r.NamesOverReplicas),
                F(r.TraceSeconds), F(r.TraceP50Ms), F(r.TraceP99Ms), F(r.RouterP50Ms), F(r.RouterP99Ms), F(r.DirectP50Ms), F(r.DirectP99Ms),
                I(r.LatencySamples), F(r.SettleSeconds), r.Settled ? "true" : "false")
                + (kill ? "," + (r.Kill?.CsvCells() ?? KillOutcome.EmptyCsvCells) : ""));
        }

        return text.ToString();
    }

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("F3", CultureInfo.InvariantCulture);
}

/// <summary>Runs one mode: the trace through the router, then the instances' figures, then the latency pairs.</summary>
internal static class HarnessRun
{
    private const int HotTenants = 10;

    /// <summary>How long the harness waits at most for the fleet to be quiet after the trace (<see cref="QuietFleet"/>).</summary>
    private static readonly TimeSpan SettleBound = TimeSpan.FromSeconds(120);

    public static async Task<HarnessRow> RunAsync(RoutedFleet fleet, int[] trace, HarnessOptions options)
    {
        bool placement = fleet.Options.Placement;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<TraceRequest> requests;
        KillMoment? kill = null;
        await using (var loop = new TraceLoop(trace, _ => fleet.Router.Client, options.Concurrency))
        {
            if (options.KillAfter > 0)
            {
                kill = await KillPhase.KillAsync(fleet, loop, (int)(trace.Length * options.KillAfter));
            }

            requests = await loop.CompleteAsync();
        }

        // A killed instance's loads, load time and evictions are its figures read just before the kill; what is resident
        // and loaded at the end is the survivors'.
        double traceSeconds = clock.Elapsed.TotalSeconds;
        InstanceStats[] stats = await Task.WhenAll(fleet.Instances.Where(i => !i.HasExited).Select(InstanceStats.ReadAsync));
        InstanceStats[] counted = [.. stats, .. kill?.Before.Where(b => b.Id == kill.Victim) ?? []];
        Dictionary<string, int> copies = stats.SelectMany(s => s.Loaded).GroupBy(n => n, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

        // Router overhead is measured in runs without a kill: after one, YARP's round-robin (without placement) keeps a
        // third of its requests for the dead instance, and those pairs would measure the failures.
        (List<double> viaRouterLatency, List<double> directLatency, TimeSpan settled, bool quiet) = kill is null
            ? await LatencyPairsAsync(fleet, options)
            : ([], [], TimeSpan.Zero, true);

        double[] traceLatency = [.. requests.Select(r => r.Latency.TotalMilliseconds)];
        KillOutcome? killOutcome = kill is null ? null : KillOutcome.Measure(kill, requests, stats, fleet.Options, fleet.Router.Output, [.. fleet.Instances.Where(i => !i.HasExited).Select(i => i.Output)]);
        return new HarnessRow(
            placement ? $"with placement (R={options.Replicas})" : "without placement",
            placement ? "router (ModelCaching.Routing)" : "router (YARP round-robin)",
            requests.Count,
            requests.Count(r => !r.Succeeded),
            requests.FirstOrDefault(r => !r.Succeeded)?.Problem,
            stats.Sum(s => s.ResidentBytes),
            counted.Sum(s => s.Loads),
            counted.Sum(s => s.LoadSeconds),
            counted.Sum(s => s.Evictions),
            copies.Count,
            copies.Count == 0 ? 0 : copies.Values.Max(),
            copies.Values.Count(c => c > options.Replicas),
            traceSeconds,
            Percentile(traceLatency, 0.50),
            Percentile(traceLatency, 0.99),
            Percentile(viaRouterLatency, 0.50),
            Percentile(viaRouterLatency, 0.99),
            Percentile(directLatency, 0.50),
            Percentile(directLatency, 0.99),
            directLatency.Count,
            settled.TotalSeconds,
            quiet,
            killOutcome);
    }

    private static async Task<(List<double> ViaRouter, List<double> Direct, TimeSpan Settled, bool Quiet)> LatencyPairsAsync(RoutedFleet fleet, HarnessOptions options)
    {
        Dictionary<string, ServiceProcess> byId = fleet.Instances.ToDictionary(i => i.Name, StringComparer.Ordinal);

        // Router overhead, measured the same way in both modes. First the fleet is left until it is quiet: right after a
        // trace that loaded hundreds of models the instances are still compiling their hot methods at tier 1 (more so in
        // one mode than the other), and a sample taken then measures that. Then a warm-up that is not recorded: the hot
        // tenants through the router, twenty times each; the instance that answered a tenant last (it has the model
        // loaded) is where that tenant's requests go straight, in both modes. Then alternating blocks, one request at a
        // time, through the router and straight to that instance, so both see the same machine at the same moments.
        (TimeSpan settled, bool quiet) = await QuietFleet.WaitAsync([.. fleet.Instances.Where(i => !i.HasExited), fleet.Router], SettleBound);
        int[] hot = [.. Enumerable.Range(0, 100).Select(k => k % HotTenants)];
        var holder = new Dictionary<int, HttpClient>();
        for (int round = 0; round < 2; round++)
        {
            foreach (TraceRequest answer in await RequestsAsync(hot, _ => fleet.Router.Client))
            {
                holder[answer.Tenant] = byId[answer.AnsweredBy ?? throw new InvalidOperationException("an answer did not name its instance")].Client;
            }
        }

        await RequestsAsync(hot, tenant => holder[tenant]);
        var viaRouterLatency = new List<double>();
        var directLatency = new List<double>();
        for (int block = 0; block < options.LatencyRequests / 200; block++)
        {
            viaRouterLatency.AddRange((await RequestsAsync(hot, _ => fleet.Router.Client)).Select(r => r.Latency.TotalMilliseconds));
            directLatency.AddRange((await RequestsAsync(hot, tenant => holder[tenant])).Select(r => r.Latency.TotalMilliseconds));
        }

        return (viaRouterLatency, directLatency, settled, quiet);
    }

    private static async Task<IReadOnlyList<TraceRequest>> RequestsAsync(int[] tenants, Func<int, HttpClient> target)
    {
        await using var loop = new TraceLoop(tenants, target, concurrency: 1);
        IReadOnlyList<TraceRequest> requests = await loop.CompleteAsync();
        TraceRequest? failed = requests.FirstOrDefault(r => !r.Succeeded);
        return failed is null ? requests : throw new InvalidOperationException($"a latency request failed: {failed.Problem}");
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
