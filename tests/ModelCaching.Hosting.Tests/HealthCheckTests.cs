using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelCaching.Tests.Support;

namespace ModelCaching.Hosting.Tests;

public sealed class HealthCheckTests : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly MutableSource _lazySource = new("v1");
    private readonly MutableSource _eagerSource = new("v1");

    public HealthCheckTests()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddModelCache()
            .AddModel<FakeModel>("lazy", m => m.FromSource(_lazySource).UseLoader(new FakeLoader()).Configure(o => o.RetryBaseDelay = TimeSpan.Zero))
            .AddModel<FakeModel>("eager", m => m.FromSource(_eagerSource).UseLoader(new FakeLoader()).Eager().Configure(o => o.RetryBaseDelay = TimeSpan.Zero));
        services.AddHealthChecks()
            .AddModelCache("lazy")
            .AddModelCache("eager")
            .AddModelCache(name: "all-models");
        _provider = services.BuildServiceProvider();
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    private IModelCache<FakeModel> Cache(string name) => _provider.GetRequiredKeyedService<IModelCache<FakeModel>>(name);

    private async Task<HealthReportEntry> CheckAsync(string registration)
    {
        HealthReport report = await _provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return report.Entries[registration];
    }

    [Fact]
    public async Task LazyModelNotLoadedYet_IsHealthy_EagerModelNotLoadedYet_IsUnhealthy()
    {
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync("modelcache:lazy")).Status);
        HealthReportEntry eager = await CheckAsync("modelcache:eager");
        Assert.Equal(HealthStatus.Unhealthy, eager.Status);
        Assert.Contains("'eager'", eager.Description);
        Assert.Equal(HealthStatus.Unhealthy, (await CheckAsync("all-models")).Status);
    }

    [Fact]
    public async Task ServingModel_IsHealthy_WithItsVersionInTheData()
    {
        await Cache("eager").GetModelAsync();

        HealthReportEntry entry = await CheckAsync("modelcache:eager");

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        var data = (IReadOnlyDictionary<string, object?>)entry.Data["eager"];
        Assert.Equal("Ready", data["state"]);
        Assert.Equal(Cache("eager").Version!.Id, data["version"]);
    }

    [Fact]
    public async Task FailedReloadWhileServing_IsDegraded_WithTheCause_AndRecovers()
    {
        await Cache("lazy").GetModelAsync();
        _lazySource.Content = "bad checksum";
        await Assert.ThrowsAsync<ModelLoadException>(() => Cache("lazy").ReloadAsync());

        HealthReportEntry degraded = await CheckAsync("modelcache:lazy");
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains("corrupt model", degraded.Description);

        _lazySource.Content = "v2";
        await Cache("lazy").ReloadAsync();
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync("modelcache:lazy")).Status);
    }

    [Fact]
    public async Task FailedLoadWithNothingServing_IsUnhealthy_WithTheCause()
    {
        _eagerSource.Content = "bad magic";
        await Assert.ThrowsAsync<ModelLoadException>(async () => await Cache("eager").GetModelAsync());

        HealthReportEntry entry = await CheckAsync("modelcache:eager");

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("bad magic", entry.Description);
    }
}
