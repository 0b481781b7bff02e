using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

public sealed class LeaseAndDisposalTests
{
    [Fact]
    public async Task Lease_PinsItsGenerationAcrossAReload_AndTheLastReleaseDisposesIt()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        ModelLease<FakeModel> lease = await cache.AcquireAsync();
        FakeModel v1 = lease.Model;

        factory.Source.Content = "v2";
        await cache.ReloadAsync();

        Assert.Equal("v2", cache.GetModel().Content);
        Assert.False(v1.IsDisposed);
        Assert.Equal("v1", v1.Predict());
        Assert.Equal(1, cache.GetStatistics().ActiveLeases);

        lease.Dispose();

        Assert.Equal(1, v1.DisposeCount);
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);
    }

    [Fact]
    public async Task DrainDelay_KeepsASwappedOutModelAliveForGetModelCallers_ThenDisposesIt()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.DrainDelay = TimeSpan.FromSeconds(10));
        FakeModel v1 = cache.GetModel();

        factory.Source.Content = "v2";
        await cache.ReloadAsync();
        factory.Time.Advance(TimeSpan.FromSeconds(9));

        Assert.False(v1.IsDisposed);
        Assert.Equal("v1", v1.Predict());

        factory.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(1, v1.DisposeCount);
    }

    [Fact]
    public async Task Dispose_WithALeaseOutstanding_DisposesTheModelWhenTheLeaseEnds()
    {
        var factory = new CacheFactory();
        ModelCache<FakeModel> cache = factory.Create();
        ModelLease<FakeModel> lease = await cache.AcquireAsync();

        await cache.DisposeAsync();

        FakeModel model = lease.Model;
        Assert.False(model.IsDisposed);
        lease.Dispose();
        Assert.Equal(1, model.DisposeCount);
    }

    [Fact]
    public async Task Dispose_DisposesTheServingModelAndDrainingOnes_ExactlyOnce()
    {
        var factory = new CacheFactory();
        ModelCache<FakeModel> cache = factory.Create(o => o.DrainDelay = TimeSpan.FromMinutes(1));
        await cache.GetModelAsync();
        factory.Source.Content = "v2";
        await cache.ReloadAsync();

        await cache.DisposeAsync();
        cache.Dispose();

        Assert.Equal(2, factory.Loader.Created.Count);
        Assert.All(factory.Loader.Created, model => Assert.Equal(1, model.DisposeCount));
    }

    [Fact]
    public async Task UseAfterDispose_ThrowsObjectDisposedException()
    {
        var factory = new CacheFactory();
        ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();

        cache.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cache.GetModel());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await cache.GetModelAsync());
        Assert.Throws<ObjectDisposedException>(() => cache.Acquire());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await cache.AcquireAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cache.ReloadAsync());
    }

    [Fact]
    public async Task LeasesOnAllCores_WhileReloadingInALoop_NeverSeeADisposedModel_AndEveryOldGenerationIsDisposed()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();

        using var stop = new CancellationTokenSource();
        int failures = 0;
        long calls = 0;
        Task[] workers = [.. Enumerable.Range(0, Environment.ProcessorCount * 2).Select(worker => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using ModelLease<FakeModel> lease = cache.Acquire();
                    _ = lease.Model.Predict();
                    Interlocked.Increment(ref calls);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }))];

        for (int version = 2; version <= 200; version++)
        {
            factory.Source.Content = $"v{version}";
            await cache.ReloadAsync();
        }

        await stop.CancelAsync();
        await Task.WhenAll(workers);

        Assert.Equal(0, failures);
        Assert.True(calls > 0);
        Assert.Equal(200, factory.Loader.Created.Count);
        FakeModel serving = cache.GetModel();
        Assert.All(factory.Loader.Created.Where(m => m != serving), model => Assert.Equal(1, model.DisposeCount));
        Assert.False(serving.IsDisposed);
    }
}
