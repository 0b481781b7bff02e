using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.DependencyInjection;

public sealed class RegistrationTests
{
    private static void AddTwoModels(IServiceCollection services) =>
        services.AddModelCache()
            .AddModel<FakeModel>("sentiment", m => m.FromSource(new MutableSource("s1")).UseLoader(new FakeLoader()))
            .AddModel<FakeModel>("churn", m => m.FromSource(new MutableSource("c1")).UseLoader(new FakeLoader()));

    [Fact]
    public async Task AddModel_InAPlainServiceCollection_ResolvesKeyedAndThroughTheProvider()
    {
        var services = new ServiceCollection();
        AddTwoModels(services);
        await using ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        var keyed = provider.GetRequiredKeyedService<IModelCache<FakeModel>>("sentiment");
        var untyped = provider.GetRequiredKeyedService<IModelCache>("sentiment");
        var modelCaches = provider.GetRequiredService<IModelCacheProvider>();

        Assert.Same(keyed, untyped);
        Assert.Same(keyed, modelCaches.GetCache<FakeModel>("sentiment"));
        Assert.Same(keyed, modelCaches.GetCache("sentiment"));
        Assert.Equal(["churn", "sentiment"], modelCaches.Names.Order());
        Assert.Equal("sentiment", keyed.Name);
        Assert.Equal("s1", (await keyed.GetModelAsync()).Content);
        Assert.Equal("c1", provider.GetRequiredKeyedService<IModelCache<FakeModel>>("churn").GetModel().Content);
    }

    [Fact]
    public async Task AddLogging_CalledAfterAddModelCache_StillReceivesTheCachesLogs()
    {
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModel<FakeModel>("broken", m => m.FromSource(new MutableSource("b1"))
                .UseLoader((_, _) => throw new InvalidDataException("not a model")));
        services.AddLogging(logging => logging.AddFakeLogging());
        await using ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        Assert.IsNotType<NullLoggerFactory>(provider.GetRequiredService<ILoggerFactory>());
        await Assert.ThrowsAsync<ModelLoadException>(async () => await provider.GetRequiredKeyedService<IModelCache<FakeModel>>("broken").GetModelAsync());
        Assert.Contains(provider.GetFakeLogCollector().GetSnapshot(), record => record.Level >= LogLevel.Warning && record.Message.Contains("broken", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnknownName_ThrowsKeyNotFoundExceptionListingTheKnownNames()
    {
        var services = new ServiceCollection();
        AddTwoModels(services);
        await using ServiceProvider provider = services.BuildServiceProvider();

        KeyNotFoundException error = Assert.Throws<ModelNotFoundException>(() => provider.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("sentimnet"));

        Assert.Contains("sentimnet", error.Message);
        Assert.Contains("sentiment", error.Message.Replace("sentimnet", string.Empty, StringComparison.Ordinal));
        Assert.Contains("churn", error.Message);
    }

    [Fact]
    public async Task UnknownKeyedName_ThrowsKeyNotFoundExceptionListingTheKnownNames()
    {
        var services = new ServiceCollection();
        AddTwoModels(services);
        await using ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        KeyNotFoundException typed = Assert.Throws<ModelNotFoundException>(() => provider.GetRequiredKeyedService<IModelCache<FakeModel>>("sentimnet"));
        KeyNotFoundException untyped = Assert.Throws<ModelNotFoundException>(() => provider.GetRequiredKeyedService<IModelCache>("chrun"));

        Assert.Contains("'sentimnet'", typed.Message);
        Assert.Contains("'churn'", typed.Message);
        Assert.Contains("'sentiment'", untyped.Message);
        Assert.Same(provider.GetRequiredKeyedService<IModelCache<FakeModel>>("churn"), provider.GetRequiredKeyedService<IModelCache>("churn"));
    }

    [Fact]
    public async Task GetCache_WithTheWrongModelType_SaysWhichTypeIsRegistered()
    {
        var services = new ServiceCollection();
        AddTwoModels(services);
        await using ServiceProvider provider = services.BuildServiceProvider();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IModelCacheProvider>().GetCache<string>("churn"));

        Assert.Contains("churn", error.Message);
        Assert.Contains(nameof(FakeModel), error.Message);
    }

    [Fact]
    public void AddModel_SameNameWithAnotherType_Throws()
    {
        var services = new ServiceCollection();
        AddTwoModels(services);

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() =>
            services.AddModelCache().AddModel<string>("churn", m => m.FromFactory(_ => ValueTask.FromResult("x"))));

        Assert.Contains("churn", error.Message);
    }

    [Fact]
    public async Task RegisteringTwice_IsSafe_OneCache_AndNoHostedService()
    {
        var services = new ServiceCollection();
        AddTwoModels(services);
        AddTwoModels(services);
        services.AddModelCache().AddModel<FakeModel>("churn", m => m.Expiring(idleTimeout: TimeSpan.FromMinutes(3)));

        // The host's start-up is ModelCaching.Hosting's (AddHostedStartup): the core registers nothing a host runs.
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IHostedService));
        await using ServiceProvider provider = services.BuildServiceProvider();
        var modelCaches = provider.GetRequiredService<IModelCacheProvider>();
        Assert.Equal(2, modelCaches.Names.Count);
        var churn = (ModelCache<FakeModel>)modelCaches.GetCache<FakeModel>("churn");
        Assert.Equal(TimeSpan.FromMinutes(3), churn.Options.IdleTimeout);
    }

    [Fact]
    public async Task Configuration_BindsSharedAndPerModelOptions_AndOverridesCode()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ModelCache:MaxConcurrentLoads"] = "3",
            ["ModelCache:Models:churn:Policy"] = "Eager",
            ["ModelCache:Models:churn:WaitForStartup"] = "true",
            ["ModelCache:Models:churn:TimeToLive"] = "00:30:00",
            ["ModelCache:Models:churn:LoadTimeout"] = "00:00:45",
            ["ModelCache:Models:churn:ExpectedSha256"] = new string('a', 64),
        }).Build();
        var services = new ServiceCollection();
        services.AddModelCache(configuration.GetSection("ModelCache"))
            .AddModel<FakeModel>("churn", m => m.FromSource(new MutableSource("c1")).UseLoader(new FakeLoader()).Lazy().Configure(o => o.LoadTimeout = TimeSpan.FromMinutes(5)));
        await using ServiceProvider provider = services.BuildServiceProvider();

        var churn = (ModelCache<FakeModel>)provider.GetRequiredKeyedService<IModelCache<FakeModel>>("churn");
        Assert.Equal(ModelLoadPolicy.Eager, churn.Options.Policy);
        Assert.True(churn.Options.WaitForStartup);
        Assert.Equal(TimeSpan.FromMinutes(30), churn.Options.TimeToLive);
        Assert.Equal(TimeSpan.FromSeconds(45), churn.Options.LoadTimeout);
        Assert.Equal(new string('a', 64), churn.Options.ExpectedSha256);
        Assert.Equal(3, provider.GetRequiredService<IOptions<ModelCacheOptions>>().Value.MaxConcurrentLoads);
    }

    [Fact]
    public async Task Configuration_FilePath_IsEnoughForASource()
    {
        string path = Path.Combine(Path.GetTempPath(), $"modelcaching-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(path, "from-config");
        try
        {
            IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Models:labels:FilePath"] = path,
            }).Build();
            var services = new ServiceCollection();
            services.AddModelCache(configuration).AddModel<FakeModel>("labels", m => m.UseLoader(new FakeLoader()));
            await using ServiceProvider provider = services.BuildServiceProvider();

            var labels = provider.GetRequiredKeyedService<IModelCache<FakeModel>>("labels");

            Assert.Equal("from-config", (await labels.GetModelAsync()).Content);
            Assert.Contains(path, labels.SourceDescription);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task InvalidOptions_FailHostStart_WithMessagesNamingTheModelAndTheField()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddModelCache()
            .AddModel<FakeModel>("churn", m => m.FromSource(new MutableSource("c1")).UseLoader(new FakeLoader())
                .Configure(o =>
                {
                    o.RefreshAheadRatio = 1.5;
                    o.LoadTimeout = TimeSpan.FromSeconds(-3);
                }))
            .AddModel<FakeModel>("no-source", m => m.UseLoader(new FakeLoader()));
        using IHost host = builder.Build();

        // One OptionsValidationException for every model (ModelCacheStartupCheck); other libraries' failing options would come beside it in an AggregateException.
        Exception error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        IEnumerable<OptionsValidationException> failures = error is AggregateException aggregate
            ? aggregate.InnerExceptions.Cast<OptionsValidationException>()
            : [Assert.IsType<OptionsValidationException>(error)];
        string all = string.Join("\n", failures.SelectMany(f => f.Failures));

        Assert.Contains("Model 'churn': RefreshAheadRatio", all);
        Assert.Contains("Model 'churn': LoadTimeout", all);
        Assert.Contains("Model 'no-source':", all);
        Assert.Contains("Source", all);
    }

    [Fact]
    public async Task InvalidSharedOptions_FailHostStart_NamingTheField()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddModelCache(o => o.MaxConcurrentLoads = 0);
        using IHost host = builder.Build();

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("MaxConcurrentLoads", error.Message);
    }

    [Fact]
    public async Task DisposingTheServiceProvider_DisposesTheModels()
    {
        var services = new ServiceCollection();
        var loader = new FakeLoader();
        services.AddModelCache().AddModel<FakeModel>("m", m => m.FromSource(new MutableSource("v1")).UseLoader(loader));
        ServiceProvider provider = services.BuildServiceProvider();
        FakeModel model = await provider.GetRequiredKeyedService<IModelCache<FakeModel>>("m").GetModelAsync();

        await provider.DisposeAsync();

        Assert.Equal(1, model.DisposeCount);
    }

    [Theory]
    [InlineData("watchForChanges")]
    [InlineData("positional")]
    [InlineData("none")]
    public async Task FromFile_TakesTheWatchFlagNamedOrPositional(string spelling)
    {
        string path = Path.Combine(Path.GetTempPath(), $"modelcaching-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(path, "v1");
        try
        {
            var services = new ServiceCollection();
            services.AddModelCache().AddModel<FakeModel>("m", m => (spelling switch
            {
                "watchForChanges" => m.FromFile(path, watchForChanges: true),
                "positional" => m.FromFile(path, true),
                _ => m.FromFile(path),
            }).UseLoader(new FakeLoader()));
            await using ServiceProvider provider = services.BuildServiceProvider();

            var cache = (ModelCache<FakeModel>)provider.GetRequiredKeyedService<IModelCache<FakeModel>>("m");
            var source = Assert.IsType<FileModelSource>(cache.Options.Source);
            await cache.GetModelAsync();

            Assert.Equal(spelling != "none", source.WatchMode != FileWatchMode.None);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
