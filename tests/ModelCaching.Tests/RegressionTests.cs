using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Errors;

/// <summary>Defects found in review, each pinned by the scenario that showed it.</summary>
public sealed class RegressionTests
{
    [Fact]
    public async Task TimeToLive_KeepsRefreshing_AfterARetrySkipsKnownBadContent()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o =>
        {
            o.TimeToLive = TimeSpan.FromMinutes(10);
            o.RetryMaxDelay = TimeSpan.FromSeconds(10);
        });
        await cache.GetModelAsync();
        factory.Source.Content = "bad-v2";
        factory.Time.Advance(TimeSpan.FromMinutes(8));
        await Eventually.TrueAsync(() => cache.GetHistory().Count == 2, "the refresh to fail");
        factory.Time.Advance(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => cache.GetHistory().Count == 3, "the retry to skip the known-bad bytes");
        Assert.Equal(ModelLoadOutcome.Skipped, cache.GetHistory()[2].Outcome);

        factory.Source.Content = "v3";
        Task<ModelReloadedEventArgs> reloaded = Eventually.NextReload(cache);
        factory.Time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(ModelLoadReason.RefreshAhead, (await reloaded).Reason);
        Assert.Equal("v3", cache.GetModel().Content);
    }

    [Fact]
    public async Task ExplicitReloadQueuedBehindALoad_KeepsItsReason_WhenAChangeCoalescesWithIt()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.RetryBaseDelay = TimeSpan.Zero);
        await cache.GetModelAsync();
        factory.Source.Content = "bad-x";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());
        int loadsBefore = factory.Loader.Loads;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        factory.Loader.BeforeLoad = _ => gate.Task;

        Task first = cache.ReloadAsync();
        await Eventually.TrueAsync(() => factory.Loader.Loads == loadsBefore + 1, "the first reload to reach the loader");
        Task second = cache.ReloadAsync();
        factory.Source.Change("bad-x");
        factory.Loader.BeforeLoad = null;
        gate.SetResult();

        await Assert.ThrowsAsync<ModelLoadException>(() => first);
        await Assert.ThrowsAsync<ModelLoadException>(() => second);
        Assert.Equal(loadsBefore + 2, factory.Loader.Loads); // the queued explicit reload tried the bytes again
        Assert.Equal(ModelLoadReason.Explicit, cache.GetHistory()[^1].Reason);
    }

    [Fact]
    public async Task IdleTimeout_DoesNotUnloadTheLastGoodModelWhileDegraded()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o =>
        {
            o.IdleTimeout = TimeSpan.FromMinutes(1);
            o.RetryBaseDelay = TimeSpan.Zero;
        });
        FakeModel good = await cache.GetModelAsync();
        factory.Source.Content = "bad-2";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        factory.Time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.False(good.IsDisposed);
    }

    [Fact]
    public void HttpSource_Description_KeepsAnAtSignInThePath_AndDropsUserInfoAndQuery()
    {
        using var plain = new HttpModelSource(new HttpModelSourceOptions { Uri = new Uri("https://models.example/m/model@2.onnx?sig=secret") });
        using var withUser = new HttpModelSource(new HttpModelSourceOptions { Uri = new Uri("https://user:pw@models.example/m/model.zip") });

        Assert.Equal("https://models.example/m/model@2.onnx", plain.Description);
        Assert.Equal("https://models.example/m/model.zip", withUser.Description);
    }
}
