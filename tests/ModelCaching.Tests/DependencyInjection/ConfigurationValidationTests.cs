using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.DependencyInjection;

/// <summary>Policies and settings from configuration behave as in code, and a wrong value says what is valid.</summary>
public sealed class ConfigurationValidationTests
{
    private static IHost BuildHost(Dictionary<string, string?> settings, Action<IModelCacheBuilder>? models = null)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        // A host app's registration: with ModelCaching.Hosting's start-up, which builds the models AddModels discovers at start.
        IModelCacheBuilder cache = builder.Services.AddModelCache(configuration.GetSection("ModelCache")).AddHostedStartup();
        if (models is null)
        {
            cache.AddModel<FakeModel>("scorer", m => m.FromSource(new MutableSource("v1")).UseLoader(new FakeLoader()));
        }
        else
        {
            models(cache);
        }

        return builder.Build();
    }

    [Fact]
    public async Task Expiring_FromConfigurationWithATimeToLive_IsTheExpiringPolicy()
    {
        using IHost host = BuildHost(new()
        {
            ["ModelCache:Models:scorer:Policy"] = "Expiring",
            ["ModelCache:Models:scorer:TimeToLive"] = "00:10:00",
        });
        await host.StartAsync();

        var cache = (ModelCache<FakeModel>)host.Services.GetRequiredKeyedService<IModelCache<FakeModel>>("scorer");

        Assert.Equal(ModelLoadPolicy.Expiring, cache.Options.Policy);
        Assert.Equal(TimeSpan.FromMinutes(10), cache.Options.TimeToLive);
        await host.StopAsync();
    }

    [Fact]
    public async Task Expiring_InCode_SetsThePolicyAndTheTimes()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModel<FakeModel>("scorer", m => m
            .FromSource(new MutableSource("v1"))
            .UseLoader(new FakeLoader())
            .Expiring(idleTimeout: TimeSpan.FromMinutes(5)));
        await using ServiceProvider provider = services.BuildServiceProvider();

        var cache = (ModelCache<FakeModel>)provider.GetRequiredKeyedService<IModelCache<FakeModel>>("scorer");

        Assert.Equal(ModelLoadPolicy.Expiring, cache.Options.Policy);
        Assert.Equal(TimeSpan.FromMinutes(5), cache.Options.IdleTimeout);
        Assert.Null(cache.Options.TimeToLive);
    }

    [Fact]
    public async Task Expiring_AfterEager_KeepsTheModelEagerWithItsTimeToLive()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModel<FakeModel>("scorer", m => m
            .FromSource(new MutableSource("v1"))
            .UseLoader(new FakeLoader())
            .Eager()
            .Expiring(timeToLive: TimeSpan.FromMinutes(5)));
        await using ServiceProvider provider = services.BuildServiceProvider();

        var cache = (ModelCache<FakeModel>)provider.GetRequiredKeyedService<IModelCache<FakeModel>>("scorer");

        Assert.Equal(ModelLoadPolicy.Eager, cache.Options.Policy);
        Assert.Equal(TimeSpan.FromMinutes(5), cache.Options.TimeToLive);
    }

    [Fact]
    public void Expiring_InCodeWithoutATimeToLiveOrAnIdleTimeout_ThrowsNamingTheModel()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentException>(() => services.AddModelCache().AddModel<FakeModel>("scorer", m => m.Expiring()));

        Assert.StartsWith("Model 'scorer': Expiring needs a time-to-live, an idle timeout, or both.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Expiring_FromConfigurationWithoutATimeToLiveOrAnIdleTimeout_FailsHostStart()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Models:scorer:Policy"] = "Expiring" });

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Model 'scorer': Policy Expiring needs a TimeToLive, an IdleTimeout or both", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Policy_WithAValueThatIsNoPolicy_FailsHostStartListingTheValidOnes()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Models:scorer:Policy"] = "Expring" });

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Model 'scorer': Policy 'Expring' (ModelCache:Models:scorer:Policy) is not valid; use one of Lazy, Eager, Expiring.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SwapMode_WithAValueThatIsNoMode_FailsHostStartListingTheValidOnes()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Models:scorer:SwapMode"] = "Replace" });

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Model 'scorer': SwapMode 'Replace' (ModelCache:Models:scorer:SwapMode) is not valid; use one of LoadBeside, UnloadFirst.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RollbackRetention_WithAValueThatIsNoRetention_FailsHostStartListingTheValidOnes()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Models:scorer:RollbackRetention"] = "All" });

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Model 'scorer': RollbackRetention 'All' (ModelCache:Models:scorer:RollbackRetention) is not valid; use one of Artifact, Generation, None.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TimeToLive_WithAValueThatIsNoTimeSpan_FailsHostStartNamingTheModelAndTheKey()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Models:scorer:TimeToLive"] = "10 minutes" });

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Model 'scorer': Failed to convert configuration value", error.Message, StringComparison.Ordinal);
        Assert.Contains("ModelCache:Models:scorer:TimeToLive", error.Message, StringComparison.Ordinal);
        Assert.Contains("10 minutes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Policy_FromConfigurationInAnyCase_IsAccepted()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Models:scorer:Policy"] = "eager" });
        await host.StartAsync();

        var cache = (ModelCache<FakeModel>)host.Services.GetRequiredKeyedService<IModelCache<FakeModel>>("scorer");

        Assert.Equal(ModelLoadPolicy.Eager, cache.Options.Policy);
        await host.StopAsync();
    }

    [Fact]
    public async Task ModelSection_ForANameNoCodeRegisters_FailsHostStartNamingTheSectionAndTheRegisteredModels()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Models:socrer:TimeToLive"] = "00:10:00" });

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("ModelCache:Models:socrer configures a model named 'socrer' that no code registers (registered: 'scorer')", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelSection_ForAModelAddedWithAddModels_IsKnown()
    {
        using IHost host = BuildHost(
            new() { ["ModelCache:Models:discovered:HistoryLength"] = "7" },
            cache => cache.AddModels<FakeModel>(static _ => ["discovered"], static (_, options, _) =>
            {
                options.Source = new MutableSource("d1");
                options.Loader = new FakeLoader();
            }));
        await host.StartAsync();

        var cache = (ModelCache<FakeModel>)host.Services.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("discovered");

        Assert.Equal(7, cache.Options.HistoryLength);
        Assert.Equal("d1", (await cache.GetModelAsync()).Content);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddModels_WithInvalidOptions_FailsHostStartNamingTheModelAndTheField()
    {
        using IHost host = BuildHost(
            new(),
            cache => cache.AddModels<FakeModel>(static _ => ["discovered"], static (_, options, _) =>
            {
                options.Source = new MutableSource("d1");
                options.Loader = new FakeLoader();
                options.HistoryLength = 0;
            }));

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Model 'discovered': HistoryLength must be at least 1 (was 0).", error.Message, StringComparison.Ordinal);
    }
}
