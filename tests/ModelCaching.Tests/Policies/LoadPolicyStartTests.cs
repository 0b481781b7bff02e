using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Policies;

/// <summary>The load policy is applied at host start by <see cref="ModelCache{TModel}.StartAsync"/>: only eager models cost anything then.</summary>
public sealed class LoadPolicyStartTests
{
    [Fact]
    public async Task HostStart_BuildsAndLoadsTheEagerModel_AndDoesNotEvenBuildTheLazyOrExpiringOnes()
    {
        var lazyLoader = new FakeLoader();
        var expiringLoader = new FakeLoader();
        var eagerLoader = new FakeLoader();
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Services.AddModelCache()
            .AddModel<FakeModel>("lazy", m => m.FromSource(new MutableSource("lazy")).UseLoader(lazyLoader))
            .AddModel<FakeModel>("expiring", m => m.FromSource(new MutableSource("expiring")).UseLoader(expiringLoader).Expiring(idleTimeout: TimeSpan.FromMinutes(5)))
            .AddModel<FakeModel>("eager", m => m.FromSource(new MutableSource("eager")).UseLoader(eagerLoader).Eager(waitForStartup: true));
        using IHost host = builder.Build();

        await host.StartAsync();
        var provider = (ModelCacheProvider)host.Services.GetRequiredService<IModelCacheProvider>();

        Assert.True(provider.IsCreated("eager"));
        Assert.Equal(1, eagerLoader.Loads);
        Assert.False(provider.IsCreated("lazy"));
        Assert.False(provider.IsCreated("expiring"));
        Assert.Equal(0, lazyLoader.Loads + expiringLoader.Loads);

        // First use builds and loads the lazy model.
        Assert.Equal("lazy", (await provider.GetCache<FakeModel>("lazy").GetModelAsync()).Content);
        Assert.True(provider.IsCreated("lazy"));
        await host.StopAsync();
    }

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
