using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>A second dispose of a <see cref="PredictionEngineLease{TData, TPrediction}"/> never affects another holder (issue 8.5).</summary>
public sealed class LeaseDoubleDisposeTests : IDisposable
{
    private readonly ModelCache<ITransformer> _cache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "iris");

    public void Dispose() => _cache.Dispose();

    [Fact]
    public void Lease_DisposedTwice_ReturnsItsEngineOnce_SoSixLeasesHeldAtOnceHaveSixEngines()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache, o => o.MaximumEngines = 8);
        PredictionEngineLease<IrisData, IrisPrediction> lease = pool.Rent();

        lease.Dispose();
        lease.Dispose();

        AssertSixDistinctEngines(pool);
    }

    [Fact]
    public void LeaseCopy_DisposedAfterTheOriginal_DoesNothing()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache, o => o.MaximumEngines = 8);
        PredictionEngineLease<IrisData, IrisPrediction> lease = pool.Rent();
        PredictionEngineLease<IrisData, IrisPrediction> copy = lease;

        lease.Dispose();
        copy.Dispose();

        AssertSixDistinctEngines(pool);
        Assert.Equal(0, pool.GetStatistics().EnginesDisposed);
    }

    [Fact]
    public void StaleLease_DisposedAgainWhileAnotherLeaseHoldsTheEngine_DoesNotTakeItFromThatLease()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache, o =>
        {
            o.MaximumEngines = 1;
            o.ExhaustionPolicy = PoolExhaustionPolicy.Wait;
            o.WaitTimeout = TimeSpan.Zero;
        });
        PredictionEngineLease<IrisData, IrisPrediction> stale = pool.Rent();
        PredictionEngine<IrisData, IrisPrediction> engine = stale.Engine;
        stale.Dispose();
        using PredictionEngineLease<IrisData, IrisPrediction> holder = pool.Rent();
        Assert.Same(engine, holder.Engine);

        stale.Dispose();

        // The only engine is still the holder's: another caller waits (and times out) instead of sharing it.
        Assert.Throws<TimeoutException>(() => pool.Rent());
        Assert.Equal(2f, holder.Engine.Predict(TestModels.Virginica).PredictedLabel);
    }

    private static void AssertSixDistinctEngines(PredictionPool<IrisData, IrisPrediction> pool)
    {
        PredictionEngineLease<IrisData, IrisPrediction>[] leases = [.. Enumerable.Range(0, 6).Select(_ => pool.Rent())];
        try
        {
            var engines = new HashSet<PredictionEngine<IrisData, IrisPrediction>>(leases.Select(l => l.Engine), ReferenceEqualityComparer.Instance);
            Assert.Equal(6, engines.Count);
        }
        finally
        {
            foreach (PredictionEngineLease<IrisData, IrisPrediction> lease in leases)
            {
                lease.Dispose();
            }
        }
    }
}
