using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Templates;

/// <summary>The pools' instruments report template models by their own names, and only those the provider keeps.</summary>
public sealed class TemplatePoolMetricsTests : IDisposable
{
    private readonly TenantModelFolder _tenants = new TenantModelFolder().Add(TestModels.IrisPath, "tenant-1", "tenant-2");

    public void Dispose() => _tenants.Dispose();

    [Fact]
    public async Task PoolEngineCount_ReportsEachTemplateModelByItsName_AndNotANameThatFailedToLoad()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddModelCache().AddModelTemplate<ITransformer>("tenants", t => t.FromFile(_tenants.PathTemplate).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>());
        await using ServiceProvider built = services.BuildServiceProvider();
        IMeterFactory meterFactory = built.GetRequiredService<IMeterFactory>();
        var provider = built.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        IModelCacheProvider caches = built.GetRequiredService<IModelCacheProvider>();
        Assert.Equal(0f, provider.Predict("tenant-1", TestModels.Setosa).PredictedLabel);
        Assert.Equal(2f, provider.Predict("tenant-2", TestModels.Virginica).PredictedLabel);
        Assert.Throws<TemplateModelNotFoundException>(() => provider.Predict("tenant-missing", TestModels.Setosa));
        await Eventually.TrueAsync(() => !caches.Names.Contains("tenant-missing"), "the provider forgets the name");

        var engines = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ModelCacheDiagnostics.MeterName && instrument.Meter.Scope == meterFactory && instrument.Name == "modelcache.pool.engine.count")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "modelcache.model.name")
                {
                    engines[(string)tag.Value!] = value;
                }
            }
        });
        listener.Start();

        listener.RecordObservableInstruments();

        Assert.Equal(["tenant-1", "tenant-2"], engines.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(provider.GetPool("tenant-1").GetStatistics().LiveEngines, engines["tenant-1"]);
        Assert.True(engines["tenant-2"] >= 1);
        Assert.DoesNotContain("tenant-missing", caches.Names);
    }
}
