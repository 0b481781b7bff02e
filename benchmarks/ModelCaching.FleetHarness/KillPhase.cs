using System.Globalization;
using System.Text.RegularExpressions;

namespace ModelCaching.FleetHarness;

/// <summary>The moment an instance was killed during a trace (<see cref="KillPhase"/>).</summary>
/// <param name="Victim">The id of the instance killed.</param>
/// <param name="At">When it was killed, since the trace loop started (<see cref="TraceLoop.Elapsed"/>).</param>
/// <param name="Utc">The same moment on the wall clock, to set against the processes' log times.</param>
/// <param name="Members">The live instances' ids just before the kill, the victim's included.</param>
/// <param name="Before">Every live instance's figures, read just before the kill.</param>
internal sealed record KillMoment(string Victim, TimeSpan At, DateTime Utc, IReadOnlyList<string> Members, IReadOnlyList<InstanceStats> Before);

/// <summary>
/// Kills one instance with SIGKILL partway through a trace, as production loses one (a pod evicted, an OOM kill, a host
/// lost): no shutdown, no leave announced. The trace keeps running through the router.
/// </summary>
internal static class KillPhase
{
    /// <summary>A bound for a loaded 2-core machine to answer the first part of a trace, not a wait.</summary>
    private static readonly TimeSpan AnswerBound = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Waits until <paramref name="afterRequests"/> requests of <paramref name="loop"/> were answered, reads every live
    /// instance's figures, then kills the instance that answered the most of them (the one whose death moves the most
    /// tenants).
    /// </summary>
    public static async Task<KillMoment> KillAsync(RoutedFleet fleet, TraceLoop loop, int afterRequests)
    {
        await loop.WaitForMoreAsync(afterRequests, AnswerBound);
        ServiceProcess[] live = [.. fleet.Instances.Where(i => !i.HasExited)];
        string busiest = loop.Requests.Where(r => r.AnsweredBy is not null).GroupBy(r => r.AnsweredBy!, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
        ServiceProcess victim = live.Single(i => i.Name == busiest);

        // Read before the kill, so that the loads after it are the survivors' figures at the end less these. A load that
        // ends between this read and the kill (a few tens of milliseconds) counts as one after it.
        InstanceStats[] before = await Task.WhenAll(live.Select(InstanceStats.ReadAsync));
        TimeSpan at = loop.Elapsed;
        DateTime utc = DateTime.UtcNow;
        victim.Kill();
        return new KillMoment(victim.Name, at, utc, [.. live.Select(i => i.Name)], before);
    }
}

/// <summary>
/// One line of a process's console log as <see cref="RoutedFleetOptions.TimedLogs"/> has it written (simple formatter,
/// one line, UTC timestamp): <c>2026-01-02T03:04:05.678Z warn: ModelCaching.Routing[504] Routing, fleet …</c>.
/// </summary>
/// <param name="Utc">When the process wrote it.</param>
/// <param name="EventId">The log event's id (<c>504</c>).</param>
/// <param name="Message">The rest of the line.</param>
internal sealed partial record LogEvent(DateTime Utc, int EventId, string Message)
{
    /// <summary>The events of <paramref name="output"/> (lines that are not log events, or have no timestamp, are skipped).</summary>
    public static IReadOnlyList<LogEvent> Read(string output)
    {
        var events = new List<LogEvent>();
        foreach (string line in output.Split('\n'))
        {
            Match match = Line().Match(line.TrimEnd('\r'));
            if (match.Success)
            {
                events.Add(new LogEvent(
                    DateTime.ParseExact(match.Groups["at"].Value, RoutedFleetOptions.LogTimestampFormat.TrimEnd(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
                    int.Parse(match.Groups["id"].Value, CultureInfo.InvariantCulture),
                    match.Groups["message"].Value));
            }
        }

        return events;
    }

    [GeneratedRegex(@"^(?<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) \w+: [^\[]+\[(?<id>\d+)\] (?<message>.*)$")]
    private static partial Regex Line();
}
