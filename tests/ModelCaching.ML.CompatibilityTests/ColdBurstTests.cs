using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.CompatibilityTests.Samples;
using ModelCaching.ML.CompatibilityTests.Support;

namespace ModelCaching.ML.CompatibilityTests;

/// <summary>The first burst of synchronous <c>PredictionEnginePool.Predict</c> calls on a model that is not loaded yet.</summary>
public sealed class ColdBurstTests
{
    private const int Callers = 1_000;

    [Fact]
    public async Task Predict_WithAThousandSynchronousCallersOnAColdModel_LoadsOnceAndAnswersThemAll()
    {
        var loader = new SlowModelLoader(new MLContext(seed: 1), File.ReadAllBytes(TestModels.IrisPath));
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>();
        services.AddOptions<PredictionEnginePoolOptions<IrisData, IrisPrediction>>("slow").Configure(o => o.ModelLoader = loader);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        (int correct, int failed) = SynchronousBurst.Run(Callers, () => pool.Predict("slow", TestModels.Virginica).PredictedLabel == 2f);

        Assert.Equal(0, failed);
        Assert.Equal(Callers, correct);
        Assert.Equal(1, loader.Loads);
    }

    /// <summary>A custom loader whose model takes 200 ms to build, as a model from blob storage would.</summary>
    private sealed class SlowModelLoader(MLContext context, byte[] bytes) : ModelLoader
    {
        private int _loads;

        public int Loads => Volatile.Read(ref _loads);

        public override ITransformer GetModel()
        {
            Interlocked.Increment(ref _loads);
            Thread.Sleep(200);
            using var stream = new MemoryStream(bytes);
            return context.Model.Load(stream, out _);
        }

        public override IChangeToken GetReloadToken() => new CancellationChangeToken(CancellationToken.None);
    }
}
