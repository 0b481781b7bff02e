using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

public sealed class UnloadTests
{
    [Fact]
    public void Unload_ReleasesThePoolsEnginesAndItsLeaseOnTheModel_AndTheNextPredictionLoadsAgain()
    {
        using ModelCache<ITransformer> cache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "iris");
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(cache);
        float before = pool.Predict(TestModels.Setosa).PredictedLabel;
        Assert.Equal(1, cache.GetStatistics().ActiveLeases);

        cache.Invalidate(); // the idle timeout unloads the same way

        Assert.Equal(ModelCacheState.Unloaded, cache.State);
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);
        Assert.Equal(0, pool.GetStatistics().LiveEngines);

        Assert.Equal(before, pool.Predict(TestModels.Setosa).PredictedLabel);
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal(2, cache.Version!.Generation);
    }
}
