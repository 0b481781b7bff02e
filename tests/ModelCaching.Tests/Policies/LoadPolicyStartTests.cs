using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Policies;

/// <summary>
/// The load policy is applied at start by <see cref="ModelCache{TModel}.StartAsync"/>: only eager models cost anything then.
/// The host's side (ModelCaching.Hosting's start-up service) is tested in ModelCaching.Hosting.Tests.
/// </summary>
public sealed class LoadPolicyStartTests
{
    [Fact]
    public async Task StartAsync_OnALazyCache_ReturnsAtOnceWithoutLoading_AndOnAnEagerCacheLoads()
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> lazy = factory.Create();
        await using ModelCache<FakeModel> eager = factory.Create(o => o.Policy = ModelLoadPolicy.Eager, name: "eager");

        Task lazyStart = lazy.StartAsync();
        await eager.StartAsync();

        Assert.True(lazyStart.IsCompletedSuccessfully);
        Assert.Equal(ModelCacheState.NotLoaded, lazy.State);
        Assert.Equal(ModelCacheState.Ready, eager.State);
        Assert.Equal(ModelLoadPolicy.Eager, eager.Policy);
        Assert.Equal(1, factory.Loader.Loads);
    }
}
