using Microsoft.Extensions.Time.Testing;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests;

public sealed class SmokeTests
{
    [Fact]
    public async Task LazyBurst_LoadsOnce_AndReloadFailureKeepsServing()
    {
        var source = new MutableSource("v1");
        var loader = new FakeLoader { BeforeLoad = _ => Task.Delay(50) };
        var options = new ModelOptions<FakeModel> { Source = source, Loader = loader, DrainDelay = TimeSpan.Zero };
        await using var cache = new ModelCache<FakeModel>("m", options);

        Task<FakeModel>[] calls = [.. Enumerable.Range(0, 1000).Select(_ => Task.Run(() => cache.GetModelAsync().AsTask()))];
        FakeModel[] models = await Task.WhenAll(calls);
        Assert.Equal(1, loader.Loads);
        Assert.All(models, m => Assert.Equal("v1", m.Content));

        source.Content = "bad";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.Equal("v1", cache.GetModel().Predict());

        using (ModelLease<FakeModel> lease = cache.Acquire())
        {
            source.Content = "v2";
            await cache.ReloadAsync();
            Assert.Equal("v2", cache.GetModel().Content);
            Assert.False(lease.Model.IsDisposed);
        }

        Assert.True(models[0].IsDisposed);
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }
}
