using System.Diagnostics.Metrics;
using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Diagnostics;

public sealed class PredictionPoolMetricsTests
{
    [Fact]
    public void PoolEngines_IsObservedOnTheModelCachingMeterPerModel()
    {
        string name = "metrics-" + Guid.NewGuid().ToString("N");
        using ModelCache<ITransformer> cache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, name);
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(cache);
        pool.Predict(TestModels.Setosa);
        using (pool.Rent())
        using (pool.Rent())
        {
        }

        var engines = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = static (instrument, l) =>
            {
                if (instrument.Meter.Name == ModelCacheDiagnostics.MeterName && instrument.Name.StartsWith("modelcache.pool.", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "model" && (string?)tag.Value == name && instrument.Name == "modelcache.pool.engines")
                {
                    engines[name] = value;
                }
            }
        });
        listener.Start();

        listener.RecordObservableInstruments();

        Assert.Equal(pool.GetStatistics().LiveEngines, engines[name]);
        Assert.True(engines[name] >= 1);
    }
}
