using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Attack;

/// <summary>A pooled engine's lease used after its Dispose, as the ONNX typed API already refuses (issue 17 item 8).</summary>
public sealed class LeaseUseAfterDisposeAttackTests : IDisposable
{
    private readonly ModelCache<ITransformer> _cache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "iris");

    public void Dispose() => _cache.Dispose();

    [Fact(Skip = "found by attack: PredictionEngineLease.Engine after Dispose still hands out the engine, which by then serves another caller (not thread-safe); the lease holds its return count, so a check is possible but costs a read on every Engine get")]
    public void Engine_OfADisposedLease_ThrowsObjectDisposed_InsteadOfHandingOutAnotherCallersEngine()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache);
        PredictionEngineLease<IrisData, IrisPrediction> stale = pool.Rent();
        stale.Dispose();
        using PredictionEngineLease<IrisData, IrisPrediction> current = pool.Rent();
        Assert.Same(stale.Engine, current.Engine); // today: the stale lease reaches the current holder's engine

        Assert.Throws<ObjectDisposedException>(() => stale.Engine);
    }
}
