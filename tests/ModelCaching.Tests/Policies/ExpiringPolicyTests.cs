using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Policies;

public sealed class ExpiringPolicyTests
{
    [Fact]
    public async Task TimeToLive_RefreshesAheadOfExpiry_AndKeepsServingMeanwhile()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o =>
        {
            o.TimeToLive = TimeSpan.FromMinutes(10);
            o.RefreshAheadRatio = 0.8;
        });
        FakeModel v1 = await cache.GetModelAsync();

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        factory.Loader.BeforeLoad = _ => release.Task;
        factory.Source.Content = "v2";

        factory.Time.Advance(TimeSpan.FromMinutes(7.9));
        Assert.Equal(1, factory.Source.Fetches);

        Task<ModelReloadedEventArgs> reloaded = Eventually.NextReload(cache);
        factory.Time.Advance(TimeSpan.FromMinutes(0.1)); // 8 minutes: 80% of the TTL
        await Eventually.TrueAsync(() => factory.Loader.Loads == 2, "the refresh-ahead load to start");

        // The refresh is running: callers still get the current model, without waiting.
        Assert.Same(v1, cache.GetModel());
        Assert.Equal(ModelCacheState.Ready, cache.State);

        release.SetResult();
        ModelReloadedEventArgs args = await reloaded;
        Assert.Equal(ModelLoadReason.RefreshAhead, args.Reason);
        Assert.Equal("v2", cache.GetModel().Content);
    }

    [Fact]
    public async Task TimeToLive_WithUnchangedContent_DoesNotReloadButReschedules()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.TimeToLive = TimeSpan.FromMinutes(10));
        FakeModel v1 = await cache.GetModelAsync();

        factory.Time.Advance(TimeSpan.FromMinutes(8));
        await Eventually.TrueAsync(() => cache.GetHistory().Count == 2, "the refresh to finish");
        factory.Time.Advance(TimeSpan.FromMinutes(8));
        await Eventually.TrueAsync(() => cache.GetHistory().Count == 3, "the second refresh to finish");

        Assert.Equal(3, factory.Source.Fetches);
        Assert.Equal(1, factory.Loader.Loads);
        Assert.Same(v1, cache.GetModel());
        Assert.All(cache.GetHistory().Skip(1), record => Assert.Equal(ModelLoadOutcome.Unchanged, record.Outcome));
    }

    [Fact]
    public async Task TimeToLive_WhenRefreshFails_KeepsServingPastExpiry()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.TimeToLive = TimeSpan.FromMinutes(10));
        FakeModel v1 = await cache.GetModelAsync();
        factory.Source.FailWith = new IOException("share unavailable");

        factory.Time.Advance(TimeSpan.FromMinutes(8));
        await Eventually.TrueAsync(() => cache.State == ModelCacheState.Degraded, "the refresh to fail");
        factory.Time.Advance(TimeSpan.FromMinutes(5)); // past the TTL

        Assert.Same(v1, cache.GetModel());
        Assert.False(v1.IsDisposed);
        Assert.Contains("share unavailable", cache.GetStatistics().LastError);
    }

    [Fact]
    public async Task IdleTimeout_UnloadsAnUnusedModel_AndNextCallLoadsAgain()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.IdleTimeout = TimeSpan.FromMinutes(4));
        FakeModel v1 = await cache.GetModelAsync();

        factory.Time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(ModelCacheState.Unloaded, cache.State);
        Assert.Null(cache.Version);
        Assert.True(v1.IsDisposed);
        Assert.Equal(1, cache.GetStatistics().Unloads);

        FakeModel again = await cache.GetModelAsync();
        Assert.NotSame(v1, again);
        Assert.Equal(2, factory.Loader.Loads);
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }

    [Fact]
    public async Task IdleTimeout_DoesNotUnloadAModelInUse()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.IdleTimeout = TimeSpan.FromMinutes(4));
        FakeModel v1 = await cache.GetModelAsync();

        for (int minute = 0; minute < 20; minute++)
        {
            factory.Time.Advance(TimeSpan.FromMinutes(1));
            Assert.Same(v1, cache.GetModel());
        }

        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal(1, factory.Loader.Loads);
    }

    [Fact]
    public async Task IdleTimeout_WithALeaseHeld_UnloadsAndRaisesUnloaded_ButTheLeaseKeepsItsModelUntilItEnds()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.IdleTimeout = TimeSpan.FromMinutes(4));
        ModelUnloadedEventArgs? unloaded = null;
        cache.Unloaded += (_, e) => unloaded = e;
        ModelLease<FakeModel> lease = await cache.AcquireAsync();

        factory.Time.Advance(TimeSpan.FromMinutes(30));

        Assert.Equal(ModelCacheState.Unloaded, cache.State);
        Assert.Equal("idle", unloaded?.Reason);
        Assert.False(lease.Model.IsDisposed);
        Assert.Equal("v1", lease.Model.Predict());
        FakeModel model = lease.Model;
        lease.Dispose();
        Assert.Equal(1, model.DisposeCount);
    }
}
