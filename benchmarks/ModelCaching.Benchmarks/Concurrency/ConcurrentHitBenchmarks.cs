using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using ModelCaching.Benchmarks.CacheHit;
using ModelCaching.Benchmarks.Policies;

namespace ModelCaching.Benchmarks.Concurrency;

/// <summary>
/// Do hits on two threads slow each other down? Each thread runs the same loop of <see cref="CallsPerThread"/> calls
/// at once; the time reported is per call on each thread, so with no interference the 2-thread figure equals the
/// 1-thread one. <c>GetModel()</c> (which counts each hit in a per-core cell) is compared with a read of a shared
/// <see cref="Lazy{T}"/> (reads only: the floor) and with a deliberately shared <see cref="Interlocked"/> counter
/// (what one shared write per hit would cost).
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public class ConcurrentHitBenchmarks
{
    /// <summary>Calls each thread makes per benchmark invocation.</summary>
    public const int CallsPerThread = 1_000_000;

    private readonly object?[] _sinks = new object?[64];
    private ParallelLoopRunner _runner = null!;
    private PolicyHost<HitModel> _host = null!;
    private IModelCache<HitModel> _cache = null!;
    private Lazy<HitModel> _lazy = null!;
    private SharedCounter _shared = null!;
    private Action<int> _getModelLoop = null!;
    private Action<int> _lazyLoop = null!;
    private Action<int> _interlockedLoop = null!;
    private Action<int> _usedFlagLoop = null!;
    private Action<int> _uncountedLoop = null!;
    private PolicyHost<HitModel> _uncountedHost = null!;
    private IModelCache<HitModel> _uncounted = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _runner = new ParallelLoopRunner(Threads);
        _host = await PolicyHost<HitModel>.StartAsync(CachePolicy.Lazy, "concurrent", HitModel.FromMemory);
        _cache = _host.Cache;
        await _cache.GetModelAsync();
        _lazy = new Lazy<HitModel>(static () => new HitModel("lazy"), LazyThreadSafetyMode.ExecutionAndPublication);
        _ = _lazy.Value;
        _shared = new SharedCounter { Model = new HitModel("shared") };

        // Delegates made once, so an invocation allocates nothing.
        _getModelLoop = GetModelLoop;
        _lazyLoop = LazyLoop;
        _interlockedLoop = InterlockedLoop;
        _usedFlagLoop = UsedFlagLoop;
        _uncountedLoop = UncountedLoop;

        _uncountedHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Lazy, "concurrent-uncounted", HitModel.FromMemory, configure: static options => options.TrackHits = false);
        _uncounted = _uncountedHost.Cache;
        await _uncounted.GetModelAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _runner.Dispose();
        await _host.DisposeAsync();
        await _uncountedHost.DisposeAsync();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CallsPerThread, Description = "Lazy<T>.Value (shared read)")]
    public void LazyValue() => _runner.Run(_lazyLoop);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "GetModel() (per-core hit count)")]
    public void GetModel() => _runner.Run(_getModelLoop);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "GetModel(), TrackHits = false")]
    public void GetModelUncounted() => _runner.Run(_uncountedLoop);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "read + 'used' flag set only when clear (proposed)")]
    public void UsedFlag() => _runner.Run(_usedFlagLoop);

    [Benchmark(OperationsPerInvoke = CallsPerThread, Description = "read + Interlocked.Increment (shared write)")]
    public void SharedInterlockedCounter() => _runner.Run(_interlockedLoop);

    private void GetModelLoop(int thread)
    {
        IModelCache<HitModel> cache = _cache;
        HitModel? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            last = cache.GetModel();
        }

        _sinks[thread * 8] = last;
    }

    private void UncountedLoop(int thread)
    {
        IModelCache<HitModel> cache = _uncounted;
        HitModel? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            last = cache.GetModel();
        }

        _sinks[thread * 8] = last;
    }

    private void LazyLoop(int thread)
    {
        HitModel? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            // A volatile read of the field each time, so the JIT cannot hoist the whole read out of the loop.
            last = Volatile.Read(ref _lazy).Value;
        }

        _sinks[thread * 8] = last;
    }

    private void InterlockedLoop(int thread)
    {
        SharedCounter shared = _shared;
        HitModel? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            // What a hit path with one shared counter would do: read the model, count the hit in one shared place.
            last = Volatile.Read(ref shared.Model);
            Interlocked.Increment(ref shared.Hits);
        }

        _sinks[thread * 8] = last;
    }

    private void UsedFlagLoop(int thread)
    {
        SharedCounter shared = _shared;
        HitModel? last = null;
        for (int i = 0; i < CallsPerThread; i++)
        {
            // The proposed hit path: read the model, and mark the cache used only if it is not marked yet (the idle
            // timer clears the mark), so the shared line is written once per timer period, not once per hit.
            last = Volatile.Read(ref shared.Model);
            if (!Volatile.Read(ref shared.Used))
            {
                Volatile.Write(ref shared.Used, true);
            }
        }

        _sinks[thread * 8] = last;
    }

    [StructLayout(LayoutKind.Sequential)]
    private sealed class SharedCounter
    {
        public HitModel? Model;
        public long Hits;
        public bool Used;
    }
}
