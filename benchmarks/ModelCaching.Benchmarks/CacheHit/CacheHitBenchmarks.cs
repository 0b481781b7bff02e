using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Memory;
using ModelCaching.Benchmarks.Policies;

namespace ModelCaching.Benchmarks.CacheHit;

/// <summary>
/// The cost of getting an already loaded model, against the ways an application would otherwise hold it.
/// Budgets: every <c>GetModel()</c> within 2 ns of <see cref="Lazy{T}.Value"/> and 0 B; a lease (acquire and
/// dispose) within 25 ns and 0 B. Each policy is measured with the default (hits counted per thread stack region,
/// <c>TrackHits = true</c>) and with <c>TrackHits = false</c>. Each cache is resolved as an application resolves it (a keyed
/// <see cref="IModelCache{TModel}"/> from DI), so the calls go through the interface.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public class CacheHitBenchmarks
{
    private const string Key = "hit-model";

    private static HitModel s_model = new("static");

    private Lazy<HitModel> _lazy = null!;
    private MemoryCache _memoryCache = null!;
    private PolicyHost<HitModel> _lazyHost = null!;
    private PolicyHost<HitModel> _eagerHost = null!;
    private PolicyHost<HitModel> _expiringHost = null!;
    private IModelCache<HitModel> _lazyCache = null!;
    private IModelCache<HitModel> _eagerCache = null!;
    private IModelCache<HitModel> _expiringCache = null!;
    private ModelCache<HitModel> _lazyConcrete = null!;
    private PolicyHost<HitModel> _lazyUncountedHost = null!;
    private PolicyHost<HitModel> _eagerUncountedHost = null!;
    private PolicyHost<HitModel> _expiringUncountedHost = null!;
    private IModelCache<HitModel> _lazyUncounted = null!;
    private IModelCache<HitModel> _eagerUncounted = null!;
    private IModelCache<HitModel> _expiringUncounted = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        s_model = new HitModel("static");
        _lazy = new Lazy<HitModel>(static () => new HitModel("lazy"), LazyThreadSafetyMode.ExecutionAndPublication);
        _ = _lazy.Value;

        _memoryCache = new MemoryCache(new MemoryCacheOptions());
        _memoryCache.Set(Key, new HitModel("memory-cache"));

        // Lazy: the first call loads; load it here so every measured call is a hit.
        _lazyHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Lazy, "lazy", HitModel.FromMemory);
        _lazyCache = _lazyHost.Cache;
        await _lazyCache.GetModelAsync();
        _lazyConcrete = (ModelCache<HitModel>)_lazyCache;

        // Eager: the host's start-up service has loaded it.
        _eagerHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Eager, "eager", HitModel.FromMemory);
        _eagerCache = _eagerHost.Cache;
        Require(_eagerCache.State == ModelCacheState.Ready, "the eager model is not loaded after host start");

        // Expiring: time-to-live with refresh-ahead and an idle timeout, both far beyond a benchmark run on the system clock.
        _expiringHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Expiring, "expiring", HitModel.FromMemory, timeToLive: TimeSpan.FromHours(1), idleTimeout: TimeSpan.FromHours(1));
        _expiringCache = _expiringHost.Cache;
        await _expiringCache.GetModelAsync();

        // The same three with TrackHits = false: no per-hit count, only the idle timer's "used" flag.
        _lazyUncountedHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Lazy, "lazy-uncounted", HitModel.FromMemory, configure: static options => options.TrackHits = false);
        _lazyUncounted = _lazyUncountedHost.Cache;
        await _lazyUncounted.GetModelAsync();
        _eagerUncountedHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Eager, "eager-uncounted", HitModel.FromMemory, configure: static options => options.TrackHits = false);
        _eagerUncounted = _eagerUncountedHost.Cache;
        Require(_eagerUncounted.State == ModelCacheState.Ready, "the eager model (TrackHits = false) is not loaded after host start");
        _expiringUncountedHost = await PolicyHost<HitModel>.StartAsync(CachePolicy.Expiring, "expiring-uncounted", HitModel.FromMemory, timeToLive: TimeSpan.FromHours(1), idleTimeout: TimeSpan.FromHours(1), configure: static options => options.TrackHits = false);
        _expiringUncounted = _expiringUncountedHost.Cache;
        await _expiringUncounted.GetModelAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _memoryCache.Dispose();
        await _lazyHost.DisposeAsync();
        await _eagerHost.DisposeAsync();
        await _expiringHost.DisposeAsync();
        await _lazyUncountedHost.DisposeAsync();
        await _eagerUncountedHost.DisposeAsync();
        await _expiringUncountedHost.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "static field")]
    public HitModel StaticField() => s_model;

    [Benchmark(Description = "Lazy<T>.Value")]
    public HitModel LazyValue() => _lazy.Value;

    [Benchmark(Description = "MemoryCache.Get")]
    public HitModel? MemoryCacheGet() => _memoryCache.Get<HitModel>(Key);

    [Benchmark(Description = "GetModel() lazy")]
    public HitModel GetModelLazy() => _lazyCache.GetModel();

    [Benchmark(Description = "GetModel() lazy, on ModelCache<T> (no interface call)")]
    public HitModel GetModelLazyConcrete() => _lazyConcrete.GetModel();

    [Benchmark(Description = "GetModel() eager")]
    public HitModel GetModelEager() => _eagerCache.GetModel();

    [Benchmark(Description = "GetModel() expiring")]
    public HitModel GetModelExpiring() => _expiringCache.GetModel();

    [Benchmark(Description = "GetModel() lazy, TrackHits = false")]
    public HitModel GetModelLazyUncounted() => _lazyUncounted.GetModel();

    [Benchmark(Description = "GetModel() eager, TrackHits = false")]
    public HitModel GetModelEagerUncounted() => _eagerUncounted.GetModel();

    [Benchmark(Description = "GetModel() expiring, TrackHits = false")]
    public HitModel GetModelExpiringUncounted() => _expiringUncounted.GetModel();

    [Benchmark(Description = "Acquire()+Dispose(), TrackHits = false")]
    public HitModel AcquireAndDisposeUncounted()
    {
        using ModelLease<HitModel> lease = _lazyUncounted.Acquire();
        return lease.Model;
    }

    [Benchmark(Description = "GetModelAsync() hit")]
    public HitModel GetModelAsyncHit() => _lazyCache.GetModelAsync().Result;

    [Benchmark(Description = "Acquire()+Dispose()")]
    public HitModel AcquireAndDispose()
    {
        using ModelLease<HitModel> lease = _lazyCache.Acquire();
        return lease.Model;
    }

    private static void Require(bool condition, string problem)
    {
        if (!condition)
        {
            throw new InvalidOperationException("CacheHitBenchmarks setup: " + problem + ".");
        }
    }
}
