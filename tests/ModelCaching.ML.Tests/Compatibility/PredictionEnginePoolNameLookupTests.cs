using Microsoft.Extensions.DependencyInjection;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Compatibility;

/// <summary>The drop-in pool remembers the last model name it looked up; that shortcut must never serve the wrong model.</summary>
public sealed class PredictionEnginePoolNameLookupTests
{
    [Fact]
    public void Predict_WithNamesThatAlternate_AlwaysUsesTheNamedModel()
    {
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddPredictionEnginePool<IrisOrTaxiInput, FeaturesPrediction>()
            .FromFile("iris", TestModels.IrisPath, watchForChanges: false)
            .FromFile("taxi", TestModels.TaxiFarePath, watchForChanges: false);
        using ServiceProvider provider = services.BuildServiceProvider();
        PredictionEnginePool<IrisOrTaxiInput, FeaturesPrediction> pool = provider.GetRequiredService<PredictionEnginePool<IrisOrTaxiInput, FeaturesPrediction>>();
        int irisLength = pool.Predict("iris", IrisOrTaxiInput.Sample).Features.Length;
        int taxiLength = pool.Predict("taxi", IrisOrTaxiInput.Sample).Features.Length;
        Assert.NotEqual(irisLength, taxiLength);

        for (int i = 0; i < 20; i++)
        {
            // Equal names in new string instances take the comparison path, literals the reference path.
            string iris = i % 2 == 0 ? "iris" : new string("iris".AsSpan());
            string taxi = i % 3 == 0 ? "taxi" : new string("taxi".AsSpan());
            Assert.Equal(irisLength, pool.Predict(iris, IrisOrTaxiInput.Sample).Features.Length);
            Assert.Equal(irisLength, pool.Predict(iris, IrisOrTaxiInput.Sample).Features.Length);
            Assert.Equal(taxiLength, pool.Predict(taxi, IrisOrTaxiInput.Sample).Features.Length);
        }
    }

    [Fact]
    public void Predict_WithAnUnknownNameAfterAKnownOne_ThrowsKeyNotFoundExceptionNamingIt()
    {
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile("iris", TestModels.IrisPath, watchForChanges: false);
        using ServiceProvider provider = services.BuildServiceProvider();
        PredictionEnginePool<IrisData, IrisPrediction> pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        Assert.Equal(2f, pool.Predict("iris", TestModels.Virginica).PredictedLabel);

        var error = Assert.Throws<KeyNotFoundException>(() => pool.Predict("irls", TestModels.Virginica));

        Assert.Contains("'irls'", error.Message);
        Assert.Contains("'iris'", error.Message);
    }
}
