#nullable enable
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.CompatibilityTests.Samples;
using ModelCaching.ML.CompatibilityTests.Support;

namespace ModelCaching.ML.CompatibilityTests;

/// <summary>Models registered through the compatibility layer are named models of the model cache.</summary>
public sealed class ProviderVisibilityTests
{
    [Fact]
    public async Task FromFile_NamedAndDefaultModels_AreInTheProviderUnderTheirDocumentedNames()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>()
            .FromFile(TestModels.IrisPath)
            .FromFile("IrisModel", TestModels.IrisPath, watchForChanges: false);
        await using ServiceProvider provider = services.BuildServiceProvider();

        IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();

        // The default (unnamed) model is "default", as docs/migrating-from-microsoft-extensions-ml.md says.
        Assert.Equal(["IrisModel", "default"], caches.Names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task FromFile_ThePoolAndTheProvider_ServeTheSameCache()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile("IrisModel", TestModels.IrisPath, watchForChanges: false);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        ITransformer fromPool = pool.GetModel("IrisModel");
        IModelCache<ITransformer> cache = provider.GetRequiredService<IModelCacheProvider>().GetCache<ITransformer>("IrisModel");

        Assert.Same(fromPool, cache.GetModel());
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Same(cache, provider.GetRequiredKeyedService<IModelCache<ITransformer>>("IrisModel"));
    }

    [Fact]
    public async Task FromUri_TheModelIsInTheProvider()
    {
        using var server = new LocalModelServer(File.ReadAllBytes(TestModels.IrisPath));
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromUri("remote", server.BaseAddress + "iris.zip");
        await using ServiceProvider provider = services.BuildServiceProvider();

        IModelCache cache = provider.GetRequiredService<IModelCacheProvider>().GetCache("remote");
        provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>().Predict("remote", TestModels.Setosa);

        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Contains("iris.zip", cache.SourceDescription, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CustomModelLoader_NamedThroughOptions_IsInTheProvider()
    {
        var loader = new InMemoryModelLoader(new MLContext(seed: 1), File.ReadAllBytes(TestModels.IrisPath));
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>();
        services.AddOptions<PredictionEnginePoolOptions<IrisData, IrisPrediction>>("memory").Configure(o => o.ModelLoader = loader);
        await using ServiceProvider provider = services.BuildServiceProvider();

        IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();
        ITransformer model = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>().GetModel("memory");

        Assert.Equal(["memory"], caches.Names);
        Assert.Same(model, caches.GetCache<ITransformer>("memory").GetModel());
    }

    [Fact]
    public async Task CustomModelLoader_ForTheDefaultModel_IsInTheProviderAsDefault()
    {
        var loader = new InMemoryModelLoader(new MLContext(seed: 1), File.ReadAllBytes(TestModels.IrisPath));
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>();
        services.Configure<PredictionEnginePoolOptions<IrisData, IrisPrediction>>(o => o.ModelLoader = loader);
        await using ServiceProvider provider = services.BuildServiceProvider();

        IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();

        Assert.Equal(["default"], caches.Names);
        Assert.Equal(2f, provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>().Predict(TestModels.Virginica).PredictedLabel);
    }

    [Fact]
    public async Task HealthChecks_InACompatibilityOnlyApp_ReportEachModelByName()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile("IrisModel", TestModels.IrisPath, watchForChanges: false);
        services.AddHealthChecks().AddModelCache();
        await using ServiceProvider provider = services.BuildServiceProvider();
        provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>().Predict("IrisModel", TestModels.Setosa);

        HealthReport report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(HealthStatus.Healthy, report.Status);
        var data = Assert.Single(report.Entries).Value.Data;
        Assert.Equal(["IrisModel"], data.Keys);
    }

    [Fact]
    public async Task Metrics_ThePoolAndItsModel_ReportThroughTheApplicationsMeterFactory()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile("IrisModel", TestModels.IrisPath, watchForChanges: false);
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMeterFactory meterFactory = provider.GetRequiredService<IMeterFactory>();
        var seen = new List<(string Instrument, string? Model)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                // Only this application's meters: the factory's meters carry its scope.
                if (instrument.Meter.Name == ModelCacheDiagnostics.MeterName && instrument.Meter.Scope == meterFactory)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, state) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "modelcache.model.name")
                {
                    lock (seen)
                    {
                        seen.Add((instrument.Name, tag.Value as string));
                    }
                }
            }
        });
        listener.Start();

        provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>().Predict("IrisModel", TestModels.Setosa);
        listener.RecordObservableInstruments();

        Assert.Contains(("modelcache.pool.engine.count", "IrisModel"), seen);
        Assert.Contains(("modelcache.requests", "IrisModel"), seen);
        Assert.Contains(("modelcache.model.count", "IrisModel"), seen);
    }

    [Fact]
    public async Task HealthChecks_WithoutTheModelCache_FailTheHostAtStartSayingWhatToAdd()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddHealthChecks().AddModelCache();
        using IHost host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("services.AddModelCache()", error.Message, StringComparison.Ordinal);
        Assert.Contains("AddPredictionEnginePool", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthChecks_ForAModelNoCodeRegisters_FailTheHostAtStartListingTheModels()
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile("IrisModel", TestModels.IrisPath, watchForChanges: false);
        builder.Services.AddHealthChecks().AddModelCache("IrisModle");
        using IHost host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("AddModelCache(\"IrisModle\")", error.Message, StringComparison.Ordinal);
        Assert.Contains("'IrisModel'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoPools_WithADefaultModelEach_FailWithAMessageAskingForNames()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(TestModels.IrisPath);
        services.AddPredictionEnginePool<IrisData, OtherPrediction>().FromFile(TestModels.IrisPath);
        await using ServiceProvider provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IModelCacheProvider>());

        Assert.Contains("Model 'default' is registered twice", error.Message, StringComparison.Ordinal);
    }

    public sealed class OtherPrediction
    {
        public float PredictedLabel { get; set; }
    }
}
