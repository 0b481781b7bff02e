using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Errors;

public sealed class RecoveryTests
{
    [Fact]
    public async Task AfterAFailedFirstLoad_AChangedSourceLoadsAtOnce_WithoutWaitingForTheRetryTimer()
    {
        var factory = new CacheFactory();
        factory.Source.FailWith = new FileNotFoundException("model.zip was not found");
        await using ModelCache<FakeModel> cache = factory.Create(o => o.RetryBaseDelay = TimeSpan.FromMinutes(5));
        await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());
        Assert.Equal(ModelCacheState.Failed, cache.State);
        Task<ModelReloadedEventArgs> loaded = Eventually.NextReload(cache);

        factory.Source.FailWith = null;
        factory.Source.Change("v2");

        ModelReloadedEventArgs args = await loaded;
        Assert.Equal(ModelLoadReason.SourceChanged, args.Reason);
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }

    [Fact]
    public async Task KnownBadContentSeenAgain_KeepsTheOriginalCause_AndSchedulesNoRetry()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create(o => o.RetryBaseDelay = TimeSpan.FromMinutes(5));
        await cache.GetModelAsync();
        factory.Source.Content = "bad weights";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());
        int loads = factory.Loader.Loads;

        factory.Source.Change("bad weights"); // the same bytes again: skipped by hash
        await Eventually.TrueAsync(() => cache.GetHistory()[^1].Outcome == ModelLoadOutcome.Skipped, "the change to be skipped");

        Assert.Equal(loads, factory.Loader.Loads);
        Assert.Contains("corrupt model 'bad weights'", cache.GetStatistics().LastError);
        factory.Time.Advance(TimeSpan.FromHours(1)); // the retry armed by the first failure runs once, then none
        await Eventually.TrueAsync(() => cache.GetHistory()[^1].Reason == ModelLoadReason.Retry, "the one armed retry");
        int records = cache.GetHistory().Count;
        factory.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(records, cache.GetHistory().Count);
        Assert.Equal(ModelCacheState.Degraded, cache.State);
    }
}
