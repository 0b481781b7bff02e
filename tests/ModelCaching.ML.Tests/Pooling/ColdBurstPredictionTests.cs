using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// <see cref="PredictionPool{TData, TPrediction}.Predict(TData)"/> has no async form: a burst of first requests blocks
/// pool threads on a cold model. Before the load ran on its own thread, 200 such calls took 47 s.
/// </summary>
public sealed class ColdBurstPredictionTests
{
    private const int Callers = 1_000;

    [Fact]
    public void Predict_WithAThousandSynchronousCallersOnAColdModel_LoadsOnceAndAnswersThemAll()
    {
        int loads = 0;
        var loader = new MLNetModelLoader(PoolFactory.Context);
        var options = new ModelOptions<ITransformer>
        {
            Source = new FileModelSource(TestModels.IrisPath), // not watched: no reload
            Loader = new DelegateModelLoader<ITransformer>((artifact, token) =>
            {
                Interlocked.Increment(ref loads);
                Thread.Sleep(200); // a slow synchronous load, as a larger ML.NET model takes
                return loader.LoadAsync(artifact, token);
            }),
        };
        using var cache = new ModelCache<ITransformer>("iris", options);
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(cache);

        (int correct, int failed) = SynchronousBurst.Run(Callers, () => pool.Predict(TestModels.Virginica).PredictedLabel == 2f);

        Assert.Equal(0, failed);
        Assert.Equal(Callers, correct);
        Assert.Equal(1, loads);
    }
}
