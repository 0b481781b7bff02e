using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ModelCaching.Benchmarks;

/// <summary>
/// Runs a loop on N new threads at once for a number of seconds and returns calls per CPU second per thread. Calls
/// are counted per second of each thread's own CPU time (CLOCK_THREAD_CPUTIME_ID on Linux), not of wall time: on a
/// shared machine with more runnable threads than cores, the time a thread waits for a core would otherwise
/// dominate (the same measure as <c>--harness prediction-throughput</c>).
/// </summary>
internal static class ThreadThroughput
{
    private static volatile bool s_stop;

    /// <summary>Whether the running loops must stop; loops read it every 64 calls.</summary>
    public static bool Stopping => s_stop;

    /// <summary>Runs <paramref name="loop"/>(thread index), which returns its call count, on <paramref name="threads"/> threads.</summary>
    public static double Measure(int threads, Func<int, long> loop, double seconds) =>
        Measure(threads, index => () => loop(index), seconds);

    /// <summary>
    /// Prepares a loop on each of <paramref name="threads"/> new threads (<paramref name="prepare"/>(thread index), outside
    /// the timing: per-thread engines, say), then runs them all at once; returns calls per CPU second per thread.
    /// </summary>
    public static double Measure(int threads, Func<int, Func<long>> prepare, double seconds)
    {
        // The previous way's garbage (every Predict(name, input) allocates its output) is collected outside the timing.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        s_stop = false;

        // One counter per 128 bytes, so the threads' final writes share no cache line.
        long[] calls = new long[threads * 16];
        long[] cpu = new long[threads * 16];
        using var ready = new Barrier(threads + 1);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                Func<long> loop = prepare(index);
                ready.SignalAndWait();
                long cpuStart = ThreadCpuNanoseconds();
                calls[index * 16] = loop();
                cpu[index * 16] = ThreadCpuNanoseconds() - cpuStart;
            })
            { IsBackground = true, Name = $"throughput-{index}" };
            workers[t].Start();
        }

        ready.SignalAndWait();
        var watch = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        s_stop = true;
        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        double elapsed = watch.Elapsed.TotalSeconds;
        double perThread = 0;
        for (int t = 0; t < threads; t++)
        {
            // Calls per CPU second of this thread; wall time where the thread clock is not available.
            perThread += cpu[t * 16] > 0 ? calls[t * 16] / (cpu[t * 16] / 1e9) : calls[t * 16] / elapsed;
        }

        return perThread / threads;
    }

    private static long ThreadCpuNanoseconds()
    {
        const int ClockThreadCpuTimeId = 3;
        return OperatingSystem.IsLinux() && ClockGetTime(ClockThreadCpuTimeId, out TimeSpec now) == 0 ? (now.Seconds * 1_000_000_000) + now.Nanoseconds : 0;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
