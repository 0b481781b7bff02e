using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Compatibility;

/// <summary>
/// The drop-in PredictionEnginePool is an adapter over the native PredictionPool (issue 20, one pooling API): its
/// engines are the model's PredictionPool's, counted in that pool's statistics, and its model is that pool's cache's.
/// </summary>
public sealed class PredictionEnginePoolAdapterTests
{
    [Fact]
    public void GetPredictionEngine_RentsAnEngineOfTheModelsPredictionPool_ThatTheNativeRentGetsBack()
    {
        using ServiceProvider provider = Build();
        PredictionEnginePool<IrisData, IrisPrediction> compatible = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        PredictionPool<IrisData, IrisPrediction> native = compatible.GetPool("iris");

        PredictionEngine<IrisData, IrisPrediction> engine = compatible.GetPredictionEngine("iris");
        Assert.Equal(1, native.GetStatistics().EnginesCreated);
        Assert.Equal(1, native.GetStatistics().LiveEngines);
        compatible.ReturnPredictionEngine("iris", engine);

        // The engine went back to the native pool's slots: renting there gets it again, and makes none.
        using (PredictionEngineLease<IrisData, IrisPrediction> lease = native.Rent())
        {
            Assert.Same(engine, lease.Engine);
        }

        Assert.Equal(1, native.GetStatistics().EnginesCreated);
    }

    [Fact]
    public void PredictAndGetModel_GoThroughTheModelsPredictionPool()
    {
        using ServiceProvider provider = Build();
        PredictionEnginePool<IrisData, IrisPrediction> compatible = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        PredictionPool<IrisData, IrisPrediction> native = compatible.GetPool("iris");

        Assert.Equal(2f, compatible.Predict("iris", TestModels.Virginica).PredictedLabel);

        Assert.True(native.GetStatistics().EnginesCreated >= 1);
        Assert.Equal(1, native.GetStatistics().Generations);
        Assert.Same(native.Cache.GetModel(), compatible.GetModel("iris"));
        Assert.Same(provider.GetRequiredService<IModelCacheProvider>().GetCache<ITransformer>("iris"), native.Cache);
        Assert.Same(native, compatible.GetPool("iris"));
    }

    private static ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile("iris", TestModels.IrisPath, watchForChanges: false);
        return services.BuildServiceProvider();
    }
}
