using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies;

/// <summary>
/// <c>--harness refresh-ahead-latency [seconds]</c>: does a call get slower while a refresh-ahead reload runs? One
/// thread calls <c>GetModel()</c> on an expiring cache of taxi-fare.zip in timed batches of <see cref="BatchSize"/>
/// calls, first with no reload due (a 1-hour time-to-live), then with a 100 ms time-to-live whose refresh-ahead
/// reloads a new version (the source alternates two) every ~50 ms on a background thread. Batches are put into
/// "during a reload" when a load was running or started while they ran; the rest are "between reloads". Prints the
/// per-call latency percentiles of each group and the failed calls (which must be 0).
/// </summary>
/// <remarks>
/// Batches rather than single calls because a hit takes nanoseconds, below what a timestamp pair can resolve; a
/// pause (a garbage collection, a lost time slice) lands whole in the batch it hits, so the tail still shows it.
/// </remarks>
public sealed class RefreshAheadLatencyHarness : IHarness
{
    private const int BatchSize = 100;

    /// <inheritdoc />
    public string Name => "refresh-ahead-latency";

    /// <inheritdoc />
    public async Task<int> RunAsync(string[] args)
    {
        TimeSpan duration = TimeSpan.FromSeconds(args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5);
        Console.WriteLine($"refresh-ahead-latency: taxi-fare.zip, {duration.TotalSeconds:0.#} s per phase, batches of {BatchSize} GetModel() calls on one thread, {Environment.ProcessorCount} cores");

        // Warm-up: JIT the loop and the load path.
        await RunPhaseAsync(TimeSpan.FromHours(1), TimeSpan.FromSeconds(1));

        Phase steady = await RunPhaseAsync(TimeSpan.FromHours(1), duration);
        Phase refreshing = await RunPhaseAsync(TimeSpan.FromMilliseconds(100), duration);

        Console.WriteLine();
        Console.WriteLine("| phase | batches | p50 ns/call | p99 ns/call | p99.9 ns/call | max ns/call | reloads | failed calls | gen0/1/2 GCs |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        Print("no reload due (TTL 1 h)", steady.Between, steady);
        Print("TTL 100 ms: between reloads", refreshing.Between, refreshing);
        Print("TTL 100 ms: during a reload", refreshing.During, refreshing);

        bool ok = steady.Failures == 0 && refreshing.Failures == 0 && refreshing.Reloads > 0;
        if (!ok)
        {
            Console.WriteLine($"FAILED: failures {steady.Failures + refreshing.Failures}, reloads {refreshing.Reloads} (must be > 0).");
        }

        return ok ? 0 : 1;
    }

    private static async Task<Phase> RunPhaseAsync(TimeSpan timeToLive, TimeSpan duration)
    {
        var probe = new ReloadProbe();
        await using PolicyHost<ITransformer> host = await PolicyHost<ITransformer>.StartAsync(
            CachePolicy.Expiring,
            "taxi-fare-refresh",
            model => TaxiFareModel.FromAlternatingVersions(model, probe),
            timeToLive: timeToLive,
            idleTimeout: TimeSpan.FromHours(1),
            refreshAheadRatio: 0.5);
        IModelCache<ITransformer> cache = host.Cache;
        await cache.GetModelAsync();
        long loadsAtStart = probe.Started;

        // The measuring loop runs on its own thread, as a request would, not on a thread-pool thread the reloads
        // might need.
        Phase phase = new();
        var thread = new Thread(() => Measure(cache, probe, duration, phase)) { Name = "refresh-ahead-caller" };
        int[] gcBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        thread.Start();
        thread.Join();
        phase.Collections = $"{GC.CollectionCount(0) - gcBefore[0]}/{GC.CollectionCount(1) - gcBefore[1]}/{GC.CollectionCount(2) - gcBefore[2]}";
        phase.Reloads = probe.Started - loadsAtStart;
        ModelCacheStatistics statistics = cache.GetStatistics();
        phase.LoadFailures = statistics.LoadFailures;
        return phase;
    }

    private static void Measure(IModelCache<ITransformer> cache, ReloadProbe probe, TimeSpan duration, Phase phase)
    {
        long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        ITransformer? last = null;
        while (true)
        {
            long startedLoads = probe.Started;
            bool loadingAtStart = probe.IsLoading;
            long start = Stopwatch.GetTimestamp();
            try
            {
                for (int i = 0; i < BatchSize; i++)
                {
                    last = cache.GetModel();
                }
            }
            catch (Exception)
            {
                phase.Failures++;
            }

            long stop = Stopwatch.GetTimestamp();
            bool during = loadingAtStart || probe.IsLoading || probe.Started != startedLoads;
            (during ? phase.During : phase.Between).Add((long)((stop - start) * (1e9 / Stopwatch.Frequency)));
            if (stop >= end)
            {
                break;
            }
        }

        GC.KeepAlive(last);
    }

    private static void Print(string name, BatchHistogram batches, Phase phase)
    {
        string reloads = phase.LoadFailures == 0 ? $"{phase.Reloads}" : $"{phase.Reloads} ({phase.LoadFailures} failed)";
        if (batches.Count == 0)
        {
            Console.WriteLine($"| {name} | 0 | | | | | {reloads} | {phase.Failures} | {phase.Collections} |");
            return;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {batches.Count:N0} | {PerCall(batches.Percentile(0.50)):0.0} | {PerCall(batches.Percentile(0.99)):0.0} | {PerCall(batches.Percentile(0.999)):0.0} | {PerCall(batches.Max):N0} | {reloads} | {phase.Failures} | {phase.Collections} |"));

        static double PerCall(long batchNanoseconds) => (double)batchNanoseconds / BatchSize;
    }

    /// <summary>
    /// Batch durations in whole nanoseconds: an array of counts up to 1 ms per batch (allocated up front so the
    /// measuring loop allocates nothing), and the few longer batches in a pre-sized list.
    /// </summary>
    private sealed class BatchHistogram
    {
        private const int Limit = 1_000_000;
        private readonly long[] _counts = new long[Limit];
        private readonly List<long> _long = new(100_000);

        public long Count { get; private set; }

        public long Max { get; private set; }

        public void Add(long nanoseconds)
        {
            if (nanoseconds < Limit)
            {
                _counts[nanoseconds < 0 ? 0 : nanoseconds]++;
            }
            else if (_long.Count < _long.Capacity)
            {
                _long.Add(nanoseconds);
            }

            Count++;
            Max = Math.Max(Max, nanoseconds);
        }

        public long Percentile(double p)
        {
            long rank = Math.Max(1, (long)Math.Ceiling(p * Count));
            long seen = 0;
            for (int i = 0; i < _counts.Length; i++)
            {
                seen += _counts[i];
                if (seen >= rank)
                {
                    return i;
                }
            }

            _long.Sort();
            int index = (int)Math.Min(_long.Count - 1, rank - seen - 1);
            return _long.Count == 0 ? Max : _long[Math.Max(0, index)];
        }
    }

    private sealed class Phase
    {
        public BatchHistogram Between { get; } = new();

        public BatchHistogram During { get; } = new();

        public long Failures { get; set; }

        public long Reloads { get; set; }

        public long LoadFailures { get; set; }

        public string Collections { get; set; } = "";
    }
}
