using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Attack;

/// <summary>A pooled engine's lease used after its Dispose, as the ONNX typed API already refuses (issue 17 item 8).</summary>
public sealed class LeaseUseAfterDisposeAttackTests : IDisposable
{
    private readonly ModelCache<ITransformer> _cache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "iris");

    public void Dispose() => _cache.Dispose();

    [Fact]
    public void Engine_OfADisposedLease_ThrowsObjectDisposed_InsteadOfHandingOutAnotherCallersEngine()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache);
        PredictionEngineLease<IrisData, IrisPrediction> stale = pool.Rent();
        stale.Dispose();
        using PredictionEngineLease<IrisData, IrisPrediction> current = pool.Rent();
        // Before: the stale lease reached the current holder's engine (the same object, not thread-safe).
        Assert.Throws<ObjectDisposedException>(() => stale.Engine);
        Assert.Equal(0f, current.Engine.Predict(TestModels.Setosa).PredictedLabel);
    }
}
