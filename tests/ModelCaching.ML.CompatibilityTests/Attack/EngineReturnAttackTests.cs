using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.CompatibilityTests.Samples;
using ModelCaching.ML.CompatibilityTests.Support;

namespace ModelCaching.ML.CompatibilityTests.Attack;

/// <summary>Caller mistakes with raw engines of the Microsoft.Extensions.ML-compatible pool, as production code makes them.</summary>
public sealed class EngineReturnAttackTests
{
    [Fact]
    public async Task ReturnPredictionEngine_FromTwoThreadsAtOnce_ReturnsTheEngineOnce_AndNeverHandsItToTwoCallers()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(TestModels.IrisPath, watchForChanges: false);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        const int Trials = 5_000;
        int sharedEngines = 0;
        int bothReturned = 0;
        using var barrier = new Barrier(2);
        for (int trial = 0; trial < Trials; trial++)
        {
            PredictionEngine<IrisData, IrisPrediction> engine = pool.GetPredictionEngine();
            int succeeded = 0;
            void ReturnIt()
            {
                barrier.SignalAndWait(TimeSpan.FromSeconds(10));
                try
                {
                    pool.ReturnPredictionEngine(engine);
                    Interlocked.Increment(ref succeeded);
                }
                catch (InvalidOperationException)
                {
                    // the second return of one rental: refused, as it must be
                }
            }

            var other = new Thread(ReturnIt);
            other.Start();
            ReturnIt();
            Assert.True(other.Join(TimeSpan.FromSeconds(10)));
            if (succeeded == 2)
            {
                bothReturned++;
            }

            // Two callers now: they must get two engines, and each must go back once.
            PredictionEngine<IrisData, IrisPrediction> first = pool.GetPredictionEngine();
            PredictionEngine<IrisData, IrisPrediction> second = pool.GetPredictionEngine();
            if (ReferenceEquals(first, second))
            {
                sharedEngines++;
            }

            foreach (PredictionEngine<IrisData, IrisPrediction> rented in ReferenceEquals(first, second) ? [first] : new[] { first, second })
            {
                try
                {
                    pool.ReturnPredictionEngine(rented);
                }
                catch (InvalidOperationException)
                {
                    sharedEngines++; // still in another slot: the double return put it in two
                }
            }
        }

        Assert.Equal((0, 0), (bothReturned, sharedEngines));
    }
}
