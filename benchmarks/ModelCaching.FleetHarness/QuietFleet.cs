using System.Diagnostics;

namespace ModelCaching.FleetHarness;

/// <summary>
/// Waits until a fleet's processes are quiet before latencies are measured. Right after a trace that loaded hundreds of
/// models an instance can still be busy for seconds with no request in flight: the runtime compiles the hot methods
/// again at tier 1 in the background (in one run with placement, about 2,800 methods per instance in the 15 s after the
/// trace), and a sample taken then measures that work rather than the hit path, more in one mode than in the other.
/// </summary>
public static class QuietFleet
{
    /// <summary>How long each look at the processes' CPU lasts.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(2);

    /// <summary>The share of one core under which a process counts as quiet over a <see cref="Window"/>.</summary>
    public const double QuietShare = 0.05;

    /// <summary>
    /// Waits until every one of <paramref name="processes"/> used less than <see cref="QuietShare"/> of a core over two
    /// <see cref="Window"/>s in a row, or until <paramref name="bound"/> passed. Returns how long it waited and whether the
    /// processes were quiet at the end (false: the bound passed first; the caller says so).
    /// </summary>
    public static async Task<(TimeSpan Waited, bool Quiet)> WaitAsync(IReadOnlyList<ServiceProcess> processes, TimeSpan bound)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan[] before = [.. processes.Select(p => p.ProcessorTime)];
        int quietWindows = 0;
        while (clock.Elapsed < bound)
        {
            long start = Stopwatch.GetTimestamp();
            await Task.Delay(Window);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            TimeSpan[] now = [.. processes.Select(p => p.ProcessorTime)];
            bool quiet = true;
            for (int i = 0; i < processes.Count; i++)
            {
                quiet &= (now[i] - before[i]).TotalSeconds / seconds < QuietShare;
            }

            before = now;
            quietWindows = quiet ? quietWindows + 1 : 0;
            if (quietWindows == 2)
            {
                return (clock.Elapsed, true);
            }
        }

        return (clock.Elapsed, false);
    }
}
