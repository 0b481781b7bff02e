using System.Runtime.InteropServices;
using Perfolizer.Horology;

namespace ModelCaching.OutsideBenchmarks;

/// <summary>
/// The calling thread's CPU time (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>, nanoseconds) as a BenchmarkDotNet clock: an
/// iteration is timed by the CPU time of the thread that runs it, so the time it spends waiting for a core while other
/// processes run is left out. On a quiet machine this equals wall-clock time for a single-threaded, CPU-bound benchmark;
/// on a busy one it keeps a case's time from depending on the load in the minute its process ran.
/// </summary>
/// <remarks>Public with a parameterless constructor: BenchmarkDotNet's generated program creates the clock by its type.</remarks>
public sealed class ThreadCpuClock : IClock
{
    private const int ClockThreadCpuTimeId = 3;

    /// <inheritdoc />
    public string Title => "Thread CPU time";

    /// <inheritdoc />
    public bool IsAvailable => OperatingSystem.IsLinux() && ClockGetTime(ClockThreadCpuTimeId, out _) == 0;

    /// <inheritdoc />
    public Frequency Frequency => Frequency.GHz;

    /// <inheritdoc />
    public long GetTimestamp() => ClockGetTime(ClockThreadCpuTimeId, out TimeSpec now) == 0
        ? (now.Seconds * 1_000_000_000) + now.Nanoseconds
        : throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed.");

    /// <summary>The calling thread's CPU time in nanoseconds, or 0 where the clock is not available (the loop's rounds).</summary>
    internal static long ThreadCpuNanoseconds() =>
        OperatingSystem.IsLinux() && ClockGetTime(ClockThreadCpuTimeId, out TimeSpec now) == 0 ? (now.Seconds * 1_000_000_000) + now.Nanoseconds : 0;

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
