using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

/// <summary>A burst of reloads of a disposable model holds at most one swapped-out copy waiting out the drain delay.</summary>
public sealed class DrainBoundTests
{
    [Fact]
    public async Task BurstOfReloads_KeepsOneGenerationDraining_AndDisposesTheOlderOnesAtOnce()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.DrainDelay = TimeSpan.FromSeconds(10));
        await cache.GetModelAsync();

        for (int version = 2; version <= 6; version++)
        {
            factory.Source.Content = $"v{version}";
            await cache.ReloadAsync();
        }

        // v1..v4 were cut short (no lease held them); v5 waits out the drain delay; v6 serves.
        List<FakeModel> created = factory.Loader.Created;
        Assert.All(created.Take(4), model => Assert.Equal(1, model.DisposeCount));
        Assert.False(created[4].IsDisposed);
        Assert.False(created[5].IsDisposed);
        Assert.Equal(1, cache.GetStatistics().RetiredGenerations);

        factory.Time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(1, created[4].DisposeCount);
        Assert.Equal(0, cache.GetStatistics().RetiredGenerations);
    }

    [Fact]
    public async Task BurstOfReloads_NeverDisposesAGenerationALeaseStillPins()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.DrainDelay = TimeSpan.FromSeconds(10));
        ModelLease<FakeModel> lease = await cache.AcquireAsync();

        for (int version = 2; version <= 4; version++)
        {
            factory.Source.Content = $"v{version}";
            await cache.ReloadAsync();
        }

        Assert.False(lease.Model.IsDisposed);
        Assert.Equal("v1", lease.Model.Predict());
        Assert.Equal(2, cache.GetStatistics().RetiredGenerations); // v1 pinned by the lease, v3 draining

        FakeModel model = lease.Model;
        lease.Dispose();

        Assert.Equal(1, model.DisposeCount);
        Assert.Equal(1, cache.GetStatistics().RetiredGenerations);
    }
}
