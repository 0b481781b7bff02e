using System.Runtime.CompilerServices;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Policies;

/// <summary>What an unload or a swap frees: nothing in the cache may keep a released model reachable.</summary>
public sealed class IdleMemoryTests
{
    private sealed class BigModel(int size)
    {
        public byte[] Weights { get; } = new byte[size];
    }

    private static ModelCache<BigModel> Create(CacheFactory factory, Action<ModelOptions<BigModel>>? configure = null)
    {
        var options = new ModelOptions<BigModel>
        {
            Source = factory.Source,
            Loader = new DelegateModelLoader<BigModel>((_, _) => ValueTask.FromResult(new BigModel(1 << 20))),
            DrainDelay = TimeSpan.Zero,
        };
        configure?.Invoke(options);
        return new ModelCache<BigModel>("big", options, factory.Time);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference LoadAndForget(ModelCache<BigModel> cache) => new(cache.GetModelAsync().AsTask().GetAwaiter().GetResult());

    private static bool IsCollected(WeakReference reference)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return !reference.IsAlive;
    }

    [Fact]
    public async Task IdleUnload_LetsTheModelBeCollected()
    {
        var factory = new CacheFactory();
        await using ModelCache<BigModel> cache = Create(factory, o => o.IdleTimeout = TimeSpan.FromMinutes(4));
        WeakReference model = LoadAndForget(cache);

        factory.Time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(ModelCacheState.Unloaded, cache.State);
        Assert.True(IsCollected(model), "the unloaded model is still reachable");
    }

    [Fact]
    public async Task Reload_LetsTheReplacedModelBeCollected()
    {
        var factory = new CacheFactory();
        await using ModelCache<BigModel> cache = Create(factory);
        WeakReference v1 = LoadAndForget(cache);

        factory.Source.Content = "v2";
        await cache.ReloadAsync();

        Assert.True(IsCollected(v1), "the replaced model is still reachable");
    }

    [Fact]
    public async Task WithoutHitTracking_HitsAreNotCounted_ButUseStillKeepsTheModelFromIdling()
    {
        var factory = new CacheFactory();
        await using ModelCache<BigModel> cache = Create(factory, o =>
        {
            o.TrackHits = false;
            o.IdleTimeout = TimeSpan.FromMinutes(4);
        });
        BigModel model = await cache.GetModelAsync();

        for (int minute = 0; minute < 20; minute++)
        {
            factory.Time.Advance(TimeSpan.FromMinutes(1));
            Assert.Same(model, cache.GetModel());
        }

        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal(0, cache.GetStatistics().Hits);
        Assert.Equal(1, cache.GetStatistics().Misses);

        factory.Time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(ModelCacheState.Unloaded, cache.State);
    }
}
