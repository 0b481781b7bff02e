using System.Globalization;

namespace ModelCaching.FleetHarness;

/// <summary>
/// What a trace saw of an instance killed partway through it (<see cref="KillPhase"/>). Times are in milliseconds after the
/// kill, NaN when there was nothing to time. A request is in flight at the kill when it was sent before and answered after.
/// </summary>
/// <param name="Victim">The instance killed.</param>
/// <param name="KillAtSeconds">When it was killed, since the trace started.</param>
/// <param name="VictimLoaded">The tenant models it had loaded just before the kill (what its membership entry last reported,
/// give or take the loads of its last heartbeat): with placement, the names the survivors are to warm.</param>
/// <param name="InFlight">Requests in flight at the kill.</param>
/// <param name="InFlightFailed">Of those, the ones that failed (an error status, an exception, another tenant's answer).</param>
/// <param name="After">Requests sent after the kill.</param>
/// <param name="AfterFailed">Of those, the ones that failed.</param>
/// <param name="FirstFailureMs">When the first failed request in flight at or sent after the kill was answered.</param>
/// <param name="LastFailureMs">When the last one was answered.</param>
/// <param name="VictimTenants">The victim's tenants asked for after the kill: with placement those it owned, without
/// placement those it answered before the kill.</param>
/// <param name="VictimTenantsFailed">Of those, the ones with at least one failed request after the kill.</param>
/// <param name="VictimTenantFirstSuccessMs">When the first request for one of them sent after the kill was answered well.</param>
/// <param name="RouterRetries">The router's retries away from the victim (event 504; with placement only).</param>
/// <param name="RouterLastRetryMs">When the router logged the last of them.</param>
/// <param name="RouterDroppedMs">When the router logged a membership without the victim (event 500).</param>
/// <param name="SurvivorsSawMs">When the last survivor logged a membership without the victim (event 401).</param>
/// <param name="Warms">Warm-ups of the victim's names the survivors started (event 402 naming it).</param>
/// <param name="WarmsSkipped">Warm-ups the survivors skipped for want of room in the budget (event 406).</param>
/// <param name="FirstWarmMs">When the first of them was started.</param>
/// <param name="LastWarmMs">When the last of them was started.</param>
/// <param name="SurvivorLoads">Tenant model loads on each survivor after the kill, and requests each answered after it.</param>
internal sealed record KillOutcome(
    string Victim,
    double KillAtSeconds,
    int VictimLoaded,
    int InFlight,
    int InFlightFailed,
    int After,
    int AfterFailed,
    double FirstFailureMs,
    double LastFailureMs,
    int VictimTenants,
    int VictimTenantsFailed,
    double VictimTenantFirstSuccessMs,
    int RouterRetries,
    double RouterLastRetryMs,
    double RouterDroppedMs,
    double SurvivorsSawMs,
    int Warms,
    int WarmsSkipped,
    double FirstWarmMs,
    double LastWarmMs,
    IReadOnlyList<(string Id, long Loads, int Answered)> SurvivorLoads)
{
    public static readonly string CsvHeader = "KillInstance,KillAtSeconds,KillVictimLoaded,KillInFlight,KillInFlightFailed,KillAfter,KillAfterFailed,KillFirstFailureMs,KillLastFailureMs,"
        + "KillVictimTenants,KillVictimTenantsFailed,KillVictimTenantFirstSuccessMs,KillRouterRetries,KillRouterLastRetryMs,KillRouterDroppedMs,"
        + "KillSurvivorsSawMs,KillWarms,KillWarmsSkipped,KillFirstWarmMs,KillLastWarmMs,KillSurvivorLoads,KillSurvivors";

    /// <summary>The empty cells of a row without a kill.</summary>
    public static string EmptyCsvCells => new(',', CsvHeader.Count(c => c == ','));

    /// <summary>Measures the kill from the trace's requests, the survivors' figures at the end and the processes' logs.</summary>
    /// <param name="kill">The kill.</param>
    /// <param name="requests">The trace's requests, all of them.</param>
    /// <param name="survivors">The survivors' figures at the end of the trace.</param>
    /// <param name="fleet">The fleet's options (placement and replicas: which tenants the killed instance owned).</param>
    /// <param name="routerOutput">What the router wrote (<see cref="RoutedFleetOptions.TimedLogs"/>).</param>
    /// <param name="survivorOutputs">What each survivor wrote.</param>
    public static KillOutcome Measure(
        KillMoment kill, IReadOnlyList<TraceRequest> requests, IReadOnlyList<InstanceStats> survivors, RoutedFleetOptions fleet, string routerOutput, IReadOnlyList<string> survivorOutputs)
    {
        double Ms(TimeSpan at) => (at - kill.At).TotalMilliseconds;
        double MsUtc(DateTime utc) => (utc - kill.Utc).TotalMilliseconds;
        static TimeSpan Answered(TraceRequest r) => r.At + r.Latency;
        string victim = kill.Victim;

        TraceRequest[] inFlight = [.. requests.Where(r => r.At < kill.At && Answered(r) >= kill.At)];
        TraceRequest[] after = [.. requests.Where(r => r.At >= kill.At)];
        TraceRequest[] failed = [.. inFlight.Concat(after).Where(r => !r.Succeeded).OrderBy(Answered)];

        HashSet<int> owned = fleet.Placement
            ? [.. after.Select(r => r.Tenant).Distinct().Where(t => ModelCaching.Redis.FleetPlacement.Owners(TenantModels.ModelName(t), kill.Members, fleet.Replicas).Contains(victim))]
            : [.. requests.Where(r => Answered(r) < kill.At && r.AnsweredBy == victim).Select(r => r.Tenant)];
        TraceRequest[] victimTenants = [.. after.Where(r => owned.Contains(r.Tenant)).OrderBy(Answered)];

        IReadOnlyList<LogEvent> router = LogEvent.Read(routerOutput);
        LogEvent[] retries = [.. router.Where(e => e.EventId == 504 && e.Message.Contains($"instance '{victim}'", StringComparison.Ordinal) && e.Utc >= kill.Utc)];
        LogEvent? dropped = router.FirstOrDefault(e => e.EventId == 500 && e.Utc >= kill.Utc && !e.Message.Contains($" {victim}=", StringComparison.Ordinal));
        IReadOnlyList<LogEvent>[] survivorLogs = [.. survivorOutputs.Select(LogEvent.Read)];
        LogEvent?[] saw = [.. survivorLogs.Select(log => log.FirstOrDefault(e => e.EventId == 401 && e.Utc >= kill.Utc && !e.Message.Contains(victim, StringComparison.Ordinal)))];
        LogEvent[] warms = [.. survivorLogs.SelectMany(log => log)
            .Where(e => e.EventId == 402 && e.Utc >= kill.Utc && e.Message.Contains($"from {victim};", StringComparison.Ordinal)).OrderBy(e => e.Utc)];

        return new KillOutcome(
            victim,
            kill.At.TotalSeconds,
            kill.Before.Single(b => b.Id == victim).Loaded.Count,
            inFlight.Length,
            inFlight.Count(r => !r.Succeeded),
            after.Length,
            after.Count(r => !r.Succeeded),
            failed.Length == 0 ? double.NaN : Ms(Answered(failed[0])),
            failed.Length == 0 ? double.NaN : Ms(Answered(failed[^1])),
            victimTenants.Select(r => r.Tenant).Distinct().Count(),
            victimTenants.Where(r => !r.Succeeded).Select(r => r.Tenant).Distinct().Count(),
            victimTenants.FirstOrDefault(r => r.Succeeded) is { } first ? Ms(Answered(first)) : double.NaN,
            retries.Length,
            retries.Length == 0 ? double.NaN : MsUtc(retries[^1].Utc),
            dropped is null ? double.NaN : MsUtc(dropped.Utc),
            saw.Length == 0 || saw.Any(e => e is null) ? double.NaN : saw.Max(e => MsUtc(e!.Utc)),
            warms.Length,
            survivorLogs.Sum(log => log.Count(e => e.EventId == 406 && e.Utc >= kill.Utc)),
            warms.Length == 0 ? double.NaN : MsUtc(warms[0].Utc),
            warms.Length == 0 ? double.NaN : MsUtc(warms[^1].Utc),
            [.. survivors.Select(s => (s.Id, s.Loads - kill.Before.Single(b => b.Id == s.Id).Loads, after.Count(r => r.AnsweredBy == s.Id)))]);
    }

    public string Describe() =>
        $"  killed {Victim} (SIGKILL, {VictimLoaded} tenant models loaded) {KillAtSeconds:F1} s into the trace: {InFlightFailed} of {InFlight} requests in flight failed, {AfterFailed} of {After:N0} sent after; "
        + $"failures answered {Ms(FirstFailureMs)} to {Ms(LastFailureMs)} after the kill; {VictimTenantsFailed} of its {VictimTenants} tenants asked for after it failed at least once, "
        + $"the first served again {Ms(VictimTenantFirstSuccessMs)} after; router: {RouterRetries} retries away from it (last {Ms(RouterLastRetryMs)}), dropped it {Ms(RouterDroppedMs)} after; "
        + $"the survivors saw it gone {Ms(SurvivorsSawMs)} after, skipped {WarmsSkipped} warm-ups and warmed {Warms} of its names (started {Ms(FirstWarmMs)} to {Ms(LastWarmMs)} after); after the kill {Survivors}";

    /// <summary>The rows <see cref="HarnessRow.Table"/> adds for a kill (a dash in a column without one).</summary>
    public static IEnumerable<(string Name, Func<KillOutcome, string> Value)> TableRows() =>
    [
        ("killed instance (s into the trace, tenant models it had loaded)", k => $"{k.Victim} ({k.KillAtSeconds:F1} s, {k.VictimLoaded})"),
        ("failed: in flight at the kill / sent after it", k => $"{k.InFlightFailed} of {k.InFlight} / {k.AfterFailed} of {k.After:N0}"),
        ("first / last failure after the kill", k => $"{Ms(k.FirstFailureMs)} / {Ms(k.LastFailureMs)}"),
        ("killed instance's tenants failed / asked for after it", k => $"{k.VictimTenantsFailed} / {k.VictimTenants}"),
        ("first of them served again after the kill", k => Ms(k.VictimTenantFirstSuccessMs)),
        ("router retries away from it (last)", k => $"{k.RouterRetries} ({Ms(k.RouterLastRetryMs)})"),
        ("router dropped it after", k => Ms(k.RouterDroppedMs)),
        ("survivors saw it gone after (last of them)", k => Ms(k.SurvivorsSawMs)),
        ("its names warmed by survivors (first / last started), skipped", k => $"{k.Warms} ({Ms(k.FirstWarmMs)} / {Ms(k.LastWarmMs)}), {k.WarmsSkipped}"),
        ("after the kill, per survivor: loads, requests", k => k.Survivors),
    ];

    public string CsvCells() => string.Join(',',
        Victim, F(KillAtSeconds), I(VictimLoaded), I(InFlight), I(InFlightFailed), I(After), I(AfterFailed), F(FirstFailureMs), F(LastFailureMs),
        I(VictimTenants), I(VictimTenantsFailed), F(VictimTenantFirstSuccessMs), I(RouterRetries), F(RouterLastRetryMs), F(RouterDroppedMs),
        F(SurvivorsSawMs), I(Warms), I(WarmsSkipped), F(FirstWarmMs), F(LastWarmMs), I(SurvivorLoads.Sum(s => s.Loads)), $"\"{Survivors}\"");

    private string Survivors => string.Join(", ", SurvivorLoads.Select(s => $"{s.Id}: {s.Loads:N0} loads, {s.Answered:N0} requests"));

    private static string Ms(double ms) => double.IsNaN(ms) ? "-" : $"{ms:N0} ms";

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string F(double value) => double.IsNaN(value) ? "" : value.ToString("F1", CultureInfo.InvariantCulture);
}
