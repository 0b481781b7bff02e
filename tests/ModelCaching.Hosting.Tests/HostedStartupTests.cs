using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using ModelCaching.Tests.Support;

namespace ModelCaching.Hosting.Tests;

/// <summary>
/// How the host's start-up is registered now that it is this package's: <c>AddHostedStartup()</c>, or the health
/// check's registration, once whatever is called; the core's <c>AddModelCache()</c> alone registers none.
/// </summary>
public sealed class HostedStartupTests
{
    // The health checks add a hosted service of their own (the publisher): count ours.
    private static bool IsStartup(ServiceDescriptor descriptor) =>
        descriptor.ServiceType == typeof(IHostedService) && descriptor.ImplementationFactory?.Method.ReturnType == typeof(ModelCacheStartupService);

    [Fact]
    public async Task HostStart_BuildsAndLoadsTheEagerModel_AndDoesNotEvenBuildTheLazyOrExpiringOnes()
    {
        var lazyLoader = new FakeLoader();
        var expiringLoader = new FakeLoader();
        var eagerLoader = new FakeLoader();
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Services.AddModelCache().AddHostedStartup()
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
    public async Task HostStart_WithoutAddHostedStartup_LeavesTheEagerModelToItsFirstUse()
    {
        var eagerLoader = new FakeLoader();
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddModelCache()
            .AddModel<FakeModel>("eager", m => m.FromSource(new MutableSource("eager")).UseLoader(eagerLoader).Eager(waitForStartup: true));
        using IHost host = builder.Build();

        await host.StartAsync();
        var provider = (ModelCacheProvider)host.Services.GetRequiredService<IModelCacheProvider>();

        Assert.False(provider.IsCreated("eager"));
        Assert.Equal(0, eagerLoader.Loads);
        Assert.Equal("eager", (await provider.GetCache<FakeModel>("eager").GetModelAsync()).Content);
        Assert.Equal(1, eagerLoader.Loads);
        await host.StopAsync();
    }

    [Fact]
    public void AddHostedStartup_CalledTwice_AndWithHealthChecks_RegistersOneStartupService()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddHostedStartup();
        services.AddModelCache().AddHostedStartup();
        services.AddHealthChecks().AddModelCache();

        Assert.Single(services, IsStartup);
    }

    [Fact]
    public void AddHealthChecksAddModelCache_AloneRegistersTheStartup_SoAnEagerModelDoesNotStayUnhealthy()
    {
        var services = new ServiceCollection();
        services.AddModelCache();
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IHostedService));

        services.AddHealthChecks().AddModelCache(tags: ["ready"]);

        Assert.Single(services, IsStartup);
    }

    [Fact]
    public async Task HostStart_WithTheHealthCheckOnly_LoadsTheEagerModel_AndTheCheckIsHealthy()
    {
        var eagerLoader = new FakeLoader();
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddModelCache()
            .AddModel<FakeModel>("eager", m => m.FromSource(new MutableSource("eager")).UseLoader(eagerLoader).Eager(waitForStartup: true));
        builder.Services.AddHealthChecks().AddModelCache("eager");
        using IHost host = builder.Build();

        await host.StartAsync();
        HealthReport report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(1, eagerLoader.Loads);
        Assert.Equal(HealthStatus.Healthy, report.Status);
        await host.StopAsync();
    }
}
