using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Diagnostics;

public sealed class PredictionPoolMetricsTests
{
    [Fact]
    public async Task PoolEngineCount_IsObservedPerModelOnTheApplicationsMeterFactory()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddModelCache().AddModel<ITransformer>("iris", m => m.FromFile(TestModels.IrisPath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>());
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMeterFactory meterFactory = provider.GetRequiredService<IMeterFactory>();
        PredictionPool<IrisData, IrisPrediction> pool = provider.GetRequiredKeyedService<PredictionPool<IrisData, IrisPrediction>>("iris");
        pool.Predict(TestModels.Setosa);
        using (pool.Rent())
        using (pool.Rent())
        {
        }

        var engines = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                // Only this application's meter: another test's pools in this process must not show here.
                if (instrument.Meter.Name == ModelCacheDiagnostics.MeterName && instrument.Meter.Scope == meterFactory && instrument.Name.StartsWith("modelcache.pool.", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "modelcache.model.name" && instrument.Name == "modelcache.pool.engine.count")
                {
                    engines[(string)tag.Value!] = value;
                }
            }
        });
        listener.Start();

        listener.RecordObservableInstruments();

        Assert.Equal(["iris"], engines.Keys);
        Assert.Equal(pool.GetStatistics().LiveEngines, engines["iris"]);
        Assert.True(engines["iris"] >= 1);
    }
}
