using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies;

/// <summary>
/// <c>--harness policy-memory [rounds]</c>: how much memory each policy holds once the model has been idle, and what
/// the next request then costs. For each policy, on the real clock: start a host on taxi-fare.zip, make the first
/// request, stay idle for a period long enough for the expiring policy to unload, then measure the managed heap
/// after a forced full collection and time the next request. Median of the rounds.
/// </summary>
/// <remarks>
/// The managed heap (<see cref="GC.GetTotalMemory(bool)"/> after a blocking collection) is the measure because an
/// ML.NET model is managed objects; it is compared with the heap before the host was built, so the figure is what
/// the cache holds for the model. The expiring policy here has an idle timeout of <see cref="IdleTimeout"/> and a
/// drain delay of <see cref="DrainDelay"/> (the delay a disposable model waits after being swapped out, for
/// callers that took it without a lease); the idle period waits for both.
/// </remarks>
public sealed class PolicyMemoryHarness : IHarness
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DrainDelay = TimeSpan.FromMilliseconds(250);

    // Long enough for the idle timer's four quiet ticks (1–1.25 idle timeouts) plus the drain delay, with margin.
    private static readonly TimeSpan IdlePeriod = TimeSpan.FromSeconds(2.5);

    /// <inheritdoc />
    public string Name => "policy-memory";

    /// <inheritdoc />
    public Task<int> RunAsync(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        Console.WriteLine($"policy-memory: taxi-fare.zip ({TaxiFareModel.Bytes.Length:N0} bytes), {rounds} rounds per policy, idle period {IdlePeriod.TotalSeconds:0.#} s, expiring idle timeout {IdleTimeout.TotalSeconds:0.#} s, drain delay {DrainDelay.TotalMilliseconds:0} ms");

        // One load outside the measurement, so JIT compilation and ML.NET's one-time static state are not counted
        // as memory held by the first policy measured.
        _ = new MLContext(seed: 0).Model.Load(TaxiFareModel.FilePath, out _);
        Measure(CachePolicy.Lazy);

        var rows = new List<string>();
        foreach (CachePolicy policy in Enum.GetValues<CachePolicy>())
        {
            var samples = new List<Sample>();
            for (int round = 0; round < rounds; round++)
            {
                samples.Add(Measure(policy));
            }

            rows.Add(string.Create(CultureInfo.InvariantCulture, $"| {Describe(policy)} | {Median(samples, static s => s.HeldAfterLoad) / 1024.0:N0} KB | {Median(samples, static s => s.HeldAfterIdle) / 1024.0:N0} KB | {samples.Count(static s => s.StateAfterIdle == ModelCacheState.Unloaded)}/{rounds} | {samples.Count(static s => s.ReachableAfterIdle)}/{rounds} | {Median(samples, static s => s.HeldAfterPrune) / 1024.0:N0} KB | {samples.Count(static s => s.ReachableAfterPrune)}/{rounds} | {Median(samples, static s => s.FirstRequest.TotalMilliseconds):0.00} ms | {Median(samples, static s => s.NextRequest.TotalMilliseconds):0.000} ms |"));
        }

        Console.WriteLine();
        Console.WriteLine($"For scale: one taxi-fare model loaded with MLContext.Model.Load and kept, no cache: {ModelSize() / 1024.0:N0} KB of managed heap (10 kept at once, divided by 10).");
        Console.WriteLine();
        Console.WriteLine("| policy | managed heap held after the first request | held after the idle period | unloaded after idle | model object still reachable after idle | held after idle + GetStatistics() | model still reachable after GetStatistics() | first request | next request after the idle period |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string row in rows)
        {
            Console.WriteLine(row);
        }

        Console.WriteLine();
        Console.WriteLine($"Rounds whose previous round's model was still reachable when the baseline was taken: {s_previousStillReachable}; whose disposed cache was: {s_previousCacheStillReachable}.");

        return Task.FromResult(0);
    }

    private static WeakReference<ITransformer>? s_previousModel;
    private static WeakReference<IModelCache<ITransformer>>? s_previousCache;
    private static int s_previousStillReachable;
    private static int s_previousCacheStillReachable;

    // Each round is awaited by a blocked caller rather than with await: an awaited round completes on a pool thread
    // that would then run the next round inside its own completion, with the finished round's state machine (its
    // host, cache and model) still on the stack, so the previous model would count in the next baseline.
    private static Sample Measure(CachePolicy policy) => MeasureAsync(policy).GetAwaiter().GetResult();

    private static async Task<Sample> MeasureAsync(CachePolicy policy)
    {
        long before = HeapAfterFullCollection();
        if (s_previousModel is not null && IsAlive(s_previousModel))
        {
            // The last round's host is disposed and collected; if its model is still reachable, the baseline is off.
            s_previousStillReachable++;
        }

        if (s_previousCache is not null && IsAlive(s_previousCache))
        {
            s_previousCacheStillReachable++;
        }

        await using PolicyHost<ITransformer> host = await PolicyHost<ITransformer>.StartAsync(
            policy,
            "taxi-fare-" + policy,
            TaxiFareModel.FromFile,
            timeToLive: TimeSpan.FromMinutes(10),
            idleTimeout: IdleTimeout,
            configure: static options => options.DrainDelay = DrainDelay);
        IModelCache<ITransformer> cache = host.Cache;

        WeakReference<ITransformer> firstModel = FirstRequest(cache, out TimeSpan firstRequest);
        long afterLoad = HeapAfterFullCollection();

        // Idle: no calls. A harness on the real clock may wait; what it waits for is the cache's own timers.
        await Task.Delay(IdlePeriod);
        ModelCacheState stateAfterIdle = cache.State;
        long afterIdle = HeapAfterFullCollection();
        bool reachableAfterIdle = IsAlive(firstModel);

        // GetStatistics() counts active leases, and on the way drops the retired generations that are disposed from
        // the cache's list of retired generations: tells whether that list is what still holds an unloaded model.
        _ = cache.GetStatistics();
        long afterIdlePruned = HeapAfterFullCollection();
        bool reachableAfterPrune = IsAlive(firstModel);

        long started = Stopwatch.GetTimestamp();
        ITransformer model = cache.GetModel();
        TimeSpan nextRequest = Stopwatch.GetElapsedTime(started);
        s_previousModel = new WeakReference<ITransformer>(model);
        s_previousCache = new WeakReference<IModelCache<ITransformer>>(cache);

        return new Sample(afterLoad - before, afterIdle - before, afterIdlePruned - before, stateAfterIdle, reachableAfterIdle, reachableAfterPrune, firstRequest, nextRequest);
    }

    // Not inlined, so no local of the caller keeps the model alive: only the cache (or nothing) holds it.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference<ITransformer> FirstRequest(IModelCache<ITransformer> cache, out TimeSpan elapsed)
    {
        long started = Stopwatch.GetTimestamp();
        ITransformer model = cache.GetModel();
        elapsed = Stopwatch.GetElapsedTime(started);
        return new WeakReference<ITransformer>(model);
    }

    // TryGetTarget writes the target into a local; done in the caller's frame, that hidden local would keep the
    // object alive for the rest of the (async) method. Here it dies with this frame.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static bool IsAlive<T>(WeakReference<T> reference)
        where T : class => reference.TryGetTarget(out _);

    private static long ModelSize()
    {
        var mlContext = new MLContext(seed: 0);
        long before = HeapAfterFullCollection();
        var models = new ITransformer[10];
        for (int i = 0; i < models.Length; i++)
        {
            models[i] = mlContext.Model.Load(TaxiFareModel.FilePath, out _);
        }

        long after = HeapAfterFullCollection();
        GC.KeepAlive(models);
        return (after - before) / models.Length;
    }

    private static long HeapAfterFullCollection()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static double Median(List<Sample> samples, Func<Sample, double> value)
    {
        double[] sorted = [.. samples.Select(value).Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Describe(CachePolicy policy) => policy switch
    {
        CachePolicy.Lazy => "lazy",
        CachePolicy.Eager => "eager (waits for start-up)",
        _ => $"expiring (idle {IdleTimeout.TotalSeconds:0.#} s, TTL 10 min)",
    };

    private readonly record struct Sample(long HeldAfterLoad, long HeldAfterIdle, long HeldAfterPrune, ModelCacheState StateAfterIdle, bool ReachableAfterIdle, bool ReachableAfterPrune, TimeSpan FirstRequest, TimeSpan NextRequest);
}
