using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.DependencyInjection;

/// <summary>
/// Every key under the ModelCache section is one something binds: a misspelled key, model or template fails the start,
/// naming the key, its path and the nearest valid key, and every problem is reported at once (issue 20, items 2 and 7).
/// </summary>
public sealed class ConfigurationKeyTests
{
    private static IHost BuildHost(Dictionary<string, string?> settings, Action<IModelCacheBuilder>? configure = null, bool withSection = true)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        IModelCacheBuilder cache = builder.Services.AddModelCache(withSection ? configuration.GetSection("ModelCache") : configuration).AddHostedStartup();
        cache.AddModel<FakeModel>("taxi-fare", m => m.FromSource(new MutableSource("v1")).UseLoader(new FakeLoader()));
        cache.AddModelTemplate<FakeModel>("tenants", t => t.FromSource((name, _) => new MutableSource(name)).UseLoader(new FakeLoader()));
        configure?.Invoke(cache);
        return builder.Build();
    }

    private static async Task<string[]> StartFailures(IHost host)
    {
        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        return [.. error.Failures];
    }

    private static async Task StartsAndStops(IHost host)
    {
        await host.StartAsync();
        await host.StopAsync();
    }

    [Fact]
    public async Task MisspelledModelSettings_FailHostStart_NamingEachKeyItsPathAndTheNearestKey()
    {
        using IHost host = BuildHost(new()
        {
            ["ModelCache:Models:taxi-fare:WaitForStatup"] = "true",
            ["ModelCache:Models:taxi-fare:LoadTimout"] = "00:00:30",
        });

        string[] failures = await StartFailures(host);

        Assert.Contains("ModelCache:Models:taxi-fare:WaitForStatup is not a setting: ModelCache:Models:taxi-fare (ModelOptions) has no key 'WaitForStatup'. Did you mean 'WaitForStartup'?", failures);
        Assert.Contains("ModelCache:Models:taxi-fare:LoadTimout is not a setting: ModelCache:Models:taxi-fare (ModelOptions) has no key 'LoadTimout'. Did you mean 'LoadTimeout'?", failures);
        Assert.Equal(2, failures.Length);
    }

    [Fact]
    public async Task TemplateSectionForNoRegisteredTemplate_FailsHostStart_NamingTheNearestTemplate()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Templates:tenantz:IdleTimeout"] = "00:30:00" });

        string[] failures = await StartFailures(host);

        string failure = Assert.Single(failures);
        Assert.Equal("ModelCache:Templates:tenantz configures a template named 'tenantz' that no code registers (registered: 'tenants'). Did you mean 'tenants'? Otherwise register it with AddModelCache().AddModelTemplate(\"tenantz\", ...), or remove the section.", failure);
    }

    [Fact]
    public async Task ModelSectionForNoRegisteredModel_FailsHostStart_NamingTheNearestModel()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Models:taxi-fair:LoadTimeout"] = "00:00:30" });

        string[] failures = await StartFailures(host);

        string failure = Assert.Single(failures);
        Assert.Equal("ModelCache:Models:taxi-fair configures a model named 'taxi-fair' that no code registers (registered: 'taxi-fare'). Did you mean 'taxi-fare'? Otherwise register it with AddModelCache().AddModel(\"taxi-fair\", ...), or remove the section.", failure);
    }

    [Fact]
    public async Task MisspelledModelName_DoesNotHideTheProblemsOfTheModelItMeant()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ModelCache:MaxConcurrentLoads"] = "0",
            ["ModelCache:Models:taxi-fair:FilePath"] = "models/taxi-fare.zip",
            ["ModelCache:Templates:tenants:MemoryBudgetBytes"] = "0",
        }).Build();
        // The model expects its file from configuration, which went to the misspelled section.
        builder.Services.AddModelCache(configuration.GetSection("ModelCache")).AddHostedStartup()
            .AddModel<FakeModel>("taxi-fare", m => m.UseLoader(new FakeLoader()))
            .AddModelTemplate<FakeModel>("tenants", t => t.FromSource((name, _) => new MutableSource(name)).UseLoader(new FakeLoader()));
        using IHost host = builder.Build();

        string[] failures = await StartFailures(host);

        Assert.Contains(failures, f => f.StartsWith("ModelCache: MaxConcurrentLoads must be at least 1", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("ModelCache:Models:taxi-fair configures a model named 'taxi-fair'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Model 'taxi-fare': Source is not set", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Template 'tenants': MemoryBudgetBytes must be at least 1 byte", StringComparison.Ordinal));
        Assert.Equal(4, failures.Length);
    }

    [Fact]
    public async Task MisspelledKey_DoesNotHideTheProblemsOfAModelThatAddModelsDiscovers()
    {
        using IHost host = BuildHost(
            new() { ["ModelCache:Models:taxi-fare:LoadTimout"] = "00:00:30" },
            cache => cache.AddModels<FakeModel>(static _ => ["discovered"], static (_, options, _) => options.Loader = new FakeLoader()));

        string[] failures = await StartFailures(host);

        Assert.Contains(failures, f => f.StartsWith("ModelCache:Models:taxi-fare:LoadTimout is not a setting", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Model 'discovered': Source is not set", StringComparison.Ordinal));
        Assert.Equal(2, failures.Length);
    }

    [Fact]
    public async Task ModelThatAddModelsDiscovers_IsConfiguredOnce_ThoughTheStartChecksItBeforeTheProviderMakesIt()
    {
        int configured = 0;
        using IHost host = BuildHost(
            new() { ["ModelCache:Models:discovered:HistoryLength"] = "7" },
            cache => cache.AddModels<FakeModel>(static _ => ["discovered"], (_, options, _) =>
            {
                Interlocked.Increment(ref configured);
                options.Source = new MutableSource("d1");
                options.Loader = new FakeLoader();
            }));
        await host.StartAsync();

        var cache = (ModelCache<FakeModel>)host.Services.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("discovered");

        Assert.Equal("d1", (await cache.GetModelAsync()).Content);
        Assert.Equal(7, cache.Options.HistoryLength);
        Assert.Equal(1, configured);
        await host.StopAsync();
    }

    [Fact]
    public async Task MisspelledSharedSetting_FailsHostStart_NamingTheNearestKey()
    {
        using IHost host = BuildHost(new() { ["ModelCache:MaxConcurentLoads"] = "2", ["ModelCache:Modles:taxi-fare:LoadTimeout"] = "00:00:30" });

        string[] failures = await StartFailures(host);

        Assert.Contains("ModelCache:MaxConcurentLoads is not a setting: ModelCache (ModelCacheOptions) has no key 'MaxConcurentLoads'. Did you mean 'MaxConcurrentLoads'?", failures);
        Assert.Contains("ModelCache:Modles is not a setting: ModelCache (ModelCacheOptions) has no key 'Modles'. Did you mean 'Models'?", failures);
    }

    [Fact]
    public async Task KeyFarFromEveryValidOne_FailsHostStart_ListingTheValidKeys()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Fleet:FleetName"] = "prod" });

        string failure = Assert.Single(await StartFailures(host));

        Assert.Equal("ModelCache:Fleet is not a setting: ModelCache (ModelCacheOptions) has no key 'Fleet'. Its keys are LoadQueueTimeout, MaxConcurrentLoads, MemoryBudgetBytes, Models, Templates, ThrowOnStartupFailure.", failure);
    }

    [Fact]
    public async Task TemplateSettings_AcceptTheTemplatesOwnKeysAndEveryModelSetting_AndNameAMisspelledOne()
    {
        using IHost good = BuildHost(new()
        {
            ["ModelCache:Templates:tenants:NamePrefix"] = "tenant-",
            ["ModelCache:Templates:tenants:MemoryBudgetBytes"] = "65536",
            ["ModelCache:Templates:tenants:IdleTimeout"] = "00:30:00",
            ["ModelCache:Templates:tenants:Pinned"] = "true",
        });
        await StartsAndStops(good);

        using IHost bad = BuildHost(new() { ["ModelCache:Templates:tenants:IdleTimout"] = "00:30:00" });
        string failure = Assert.Single(await StartFailures(bad));
        Assert.Equal("ModelCache:Templates:tenants:IdleTimout is not a setting: ModelCache:Templates:tenants (ModelTemplateOptions) has no key 'IdleTimout'. Did you mean 'IdleTimeout'?", failure);
    }

    [Fact]
    public async Task EverySettingOfTheDocumentedSection_InAnyCase_StartsTheHost()
    {
        using IHost host = BuildHost(new()
        {
            ["ModelCache:MaxConcurrentLoads"] = "1",
            ["ModelCache:loadQueueTimeout"] = "00:00:30",
            ["ModelCache:ThrowOnStartupFailure"] = "false",
            ["ModelCache:Models:taxi-fare:Policy"] = "Eager",
            ["ModelCache:Models:taxi-fare:waitforstartup"] = "true",
            ["ModelCache:Models:taxi-fare:LoadTimeout"] = "00:00:30",
            ["ModelCache:Models:taxi-fare:EvictionDrainDelay"] = "00:00:01",
            ["ModelCache:Models:taxi-fare:SizeMeasure"] = "ArtifactBytes",
            ["ModelCache:Models:taxi-fare:ExpectedSha256"] = null,
        });

        await StartsAndStops(host);
    }

    [Fact]
    public async Task SettingThatTakesAValue_WithKeysUnderIt_FailsHostStart()
    {
        using IHost host = BuildHost(new() { ["ModelCache:Models:taxi-fare:LoadTimeout:Seconds"] = "30" });

        string failure = Assert.Single(await StartFailures(host));

        Assert.Equal("ModelCache:Models:taxi-fare:LoadTimeout takes a value, not a section: remove the keys under it (Seconds).", failure);
    }

    [Fact]
    public async Task ReloadOnChange_IsNoLongerASetting_TheSourceDecidesWhetherChangesAreWatched()
    {
        // Issue 20: ReloadOnChange repeated WatchForChanges. A model reloads on change exactly when its source watches.
        using IHost host = BuildHost(new() { ["ModelCache:Models:taxi-fare:ReloadOnChange"] = "false" });

        string failure = Assert.Single(await StartFailures(host));

        Assert.StartsWith("ModelCache:Models:taxi-fare:ReloadOnChange is not a setting: ModelCache:Models:taxi-fare (ModelOptions) has no key 'ReloadOnChange'.", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SourceKeys_AreCheckedBesideTheOptions_NamingTheModelAndTheKey()
    {
        using IHost host = BuildHost(new()
        {
            ["ModelCache:Models:taxi-fare:PollingInterval"] = "-00:00:01",
            ["ModelCache:Models:taxi-fare:Uri"] = "http://models.example.com/taxi-fare.zip",
        });

        string[] failures = await StartFailures(host);

        Assert.Contains("Model 'taxi-fare': PollingInterval must be positive (was -00:00:01).", failures);
        Assert.Contains(failures, f => f.StartsWith("Model 'taxi-fare': Uri must be an absolute https:// address, or http:// with AllowHttp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CodeOnlySetting_InConfiguration_FailsHostStart()
    {
        // The source and the loader are code; configuration has FilePath and Uri instead.
        using IHost host = BuildHost(new() { ["ModelCache:Models:taxi-fare:Loader"] = "MLNet" });

        string failure = Assert.Single(await StartFailures(host));

        Assert.StartsWith("ModelCache:Models:taxi-fare:Loader is not a setting: ModelCache:Models:taxi-fare (ModelOptions) has no key 'Loader'. Its keys are AllowHttp, DrainDelay,", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SectionAnotherPackageDeclares_AcceptsItsKeys_AndNamesAMisspelledOne()
    {
        static IHost Build(Dictionary<string, string?> settings)
        {
            HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            builder.Services.AddModelCache(configuration.GetSection("ModelCache"))
                .DeclareConfigurationSection<ExtensionOptions>(configuration.GetSection("ModelCache:Extension:Settings"));
            return builder.Build();
        }

        using IHost good = Build(new()
        {
            ["ModelCache:Extension:Settings:Endpoint"] = "https://example.test",
            ["ModelCache:Extension:Settings:Names:0"] = "a",
            ["ModelCache:Extension:Settings:Names:1"] = "b",
            ["ModelCache:Extension:Settings:Labels:any-key"] = "x",
            ["ModelCache:Extension:Settings:Retry:Attempts"] = "3",
        });
        await StartsAndStops(good);

        using IHost bad = Build(new()
        {
            ["ModelCache:Extension:Settings:Endpoit"] = "https://example.test",
            ["ModelCache:Extension:Settings:Retry:Atempts"] = "3",
            ["ModelCache:Extension:Settings:Callback"] = "x",
        });
        string[] failures = await StartFailures(bad);
        Assert.Contains("ModelCache:Extension:Settings:Endpoit is not a setting: ModelCache:Extension:Settings (ExtensionOptions) has no key 'Endpoit'. Did you mean 'Endpoint'?", failures);
        Assert.Contains("ModelCache:Extension:Settings:Retry:Atempts is not a setting: ModelCache:Extension:Settings:Retry (RetrySettings) has no key 'Atempts'. Did you mean 'Attempts'?", failures);
        Assert.Contains(failures, f => f.StartsWith("ModelCache:Extension:Settings:Callback is not a setting", StringComparison.Ordinal));
        Assert.Equal(3, failures.Length);
    }

    [Fact]
    public async Task KeyAnotherPackageDeclaresUnderEachModel_IsAcceptedUnderModelsAndTemplates_AndAMisspellingFails()
    {
        Action<IModelCacheBuilder> declare = static cache => cache.DeclareModelConfigurationSection<ExtensionOptions>("Blob");
        using IHost good = BuildHost(
            new()
            {
                ["ModelCache:Models:taxi-fare:Blob:Endpoint"] = "https://example.test",
                ["ModelCache:Templates:tenants:Blob:Endpoint"] = "https://example.test",
            },
            declare);
        await StartsAndStops(good);

        using IHost bad = BuildHost(new() { ["ModelCache:Models:taxi-fare:Blob:Endpont"] = "https://example.test" }, declare);
        string failure = Assert.Single(await StartFailures(bad));
        Assert.Equal("ModelCache:Models:taxi-fare:Blob:Endpont is not a setting: ModelCache:Models:taxi-fare:Blob (ExtensionOptions) has no key 'Endpont'. Did you mean 'Endpoint'?", failure);
    }

    [Fact]
    public async Task ConfigurationRootInsteadOfASection_ChecksModelsAndTemplates_ButNotTheApplicationsOwnSections()
    {
        using IHost good = BuildHost(new() { ["Logging:LogLevel:Default"] = "Debug", ["Models:taxi-fare:LoadTimeout"] = "00:00:30" }, withSection: false);
        await StartsAndStops(good);

        using IHost bad = BuildHost(new() { ["Logging:LogLevel:Default"] = "Debug", ["Models:taxi-fare:LoadTimout"] = "00:00:30" }, withSection: false);
        string failure = Assert.Single(await StartFailures(bad));
        Assert.StartsWith("Models:taxi-fare:LoadTimout is not a setting", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAHost_AMisspelledKeyFailsTheFirstUse()
    {
        var services = new ServiceCollection();
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ModelCache:Models:taxi-fare:WaitForStatup"] = "true",
        }).Build();
        services.AddModelCache(configuration.GetSection("ModelCache"))
            .AddModel<FakeModel>("taxi-fare", m => m.FromSource(new MutableSource("v1")).UseLoader(new FakeLoader()));
        await using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IModelCacheProvider>());

        Assert.Contains("Did you mean 'WaitForStartup'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAHost_AMisspelledModelName_DoesNotHideTheProblemsOfTheModelItMeant()
    {
        // As when ModelCaching.AspNetCore's MapModelCacheEndpoints builds the provider before the host starts.
        var services = new ServiceCollection();
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ModelCache:Models:taxi-fair:FilePath"] = "models/taxi-fare.zip",
        }).Build();
        services.AddModelCache(configuration.GetSection("ModelCache"))
            .AddModel<FakeModel>("taxi-fare", m => m.UseLoader(new FakeLoader()));
        await using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IModelCacheProvider>());

        Assert.Contains(error.Failures, f => f.StartsWith("ModelCache:Models:taxi-fair configures a model named 'taxi-fair'", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("Model 'taxi-fare': Source is not set", StringComparison.Ordinal));
        Assert.Equal(2, error.Failures.Count());
    }

    /// <summary>Options another package binds from a section inside ModelCache.</summary>
    public sealed class ExtensionOptions
    {
        public Uri? Endpoint { get; set; }

        public IList<string> Names { get; } = [];

        public Dictionary<string, string> Labels { get; set; } = [];

        public RetrySettings Retry { get; } = new();

        public Func<string, string>? Callback { get; set; }
    }

    public sealed class RetrySettings
    {
        public int Attempts { get; set; }
    }
}
