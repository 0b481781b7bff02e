using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// Swaps between two different real models (iris.zip and taxi-fare.zip, through an input type that has the
/// columns of both) while several threads predict, and checks every result came whole from one model.
/// </summary>
public sealed class HotSwapTests
{
    private const int Swaps = 16;

    [Fact]
    public async Task Swap_BetweenTwoRealModelsWhileThreadsPredict_NeverFailsNorMixesAndDisposesOldEngines()
    {
        MLContext context = PoolFactory.Context;
        float[] irisFeatures = FeaturesOf(context, TestModels.IrisPath);
        float[] taxiFeatures = FeaturesOf(context, TestModels.TaxiFarePath);
        Assert.NotEqual(irisFeatures.Length, taxiFeatures.Length);

        using TempModelFolder folder = TestModels.CopyToTemp(TestModels.IrisPath);
        using ModelCache<ITransformer> cache = PoolFactory.Cache<IrisOrTaxiInput, FeaturesPrediction>(folder.FilePath, "swap");
        using PredictionPool<IrisOrTaxiInput, FeaturesPrediction> pool = PoolFactory.Pool<IrisOrTaxiInput, FeaturesPrediction>(cache);
        pool.Predict(IrisOrTaxiInput.Sample);

        int threads = Math.Max(3, Environment.ProcessorCount);
        long failures = 0, mixed = 0, fromIris = 0, fromTaxi = 0;
        string? firstProblem = null;
        using var stop = new CancellationTokenSource();
        Task[] workers = [.. Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            IrisOrTaxiInput input = IrisOrTaxiInput.Sample;
            var reused = new FeaturesPrediction();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    // Half the threads reuse one output object, the others take a new one per call.
                    FeaturesPrediction result = t % 2 == 0 ? pool.Predict(input) : PredictInto(pool, input, ref reused);
                    if (result.Features.AsSpan().SequenceEqual(irisFeatures))
                    {
                        Interlocked.Increment(ref fromIris);
                    }
                    else if (result.Features.AsSpan().SequenceEqual(taxiFeatures))
                    {
                        Interlocked.Increment(ref fromTaxi);
                    }
                    else
                    {
                        Interlocked.Increment(ref mixed);
                        Interlocked.CompareExchange(ref firstProblem, $"a result of {result.Features.Length} features matches neither model", null);
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstProblem, ex.ToString(), null);
                }
            }
        }, TaskCreationOptions.LongRunning))];

        for (int swap = 1; swap <= Swaps; swap++)
        {
            bool toTaxi = swap % 2 == 1;
            folder.Replace(toTaxi ? TestModels.TaxiFarePath : TestModels.IrisPath);
            await cache.ReloadAsync();

            // Let the threads predict on the new model before the next swap.
            long seen = Interlocked.Read(ref toTaxi ? ref fromTaxi : ref fromIris);
            await Eventually.TrueAsync(() => Interlocked.Read(ref toTaxi ? ref fromTaxi : ref fromIris) > seen + threads, $"predictions on the model of swap {swap}");
        }

        stop.Cancel();
        await Task.WhenAll(workers).WaitAsync(Eventually.Timeout);

        Assert.True(failures == 0, $"{failures} failed predictions; first: {firstProblem}");
        Assert.True(mixed == 0, $"{mixed} mixed results; first: {firstProblem}");
        Assert.True(fromIris > 0 && fromTaxi > 0);

        PredictionPoolStatistics stats = pool.GetStatistics();
        Assert.Equal(Swaps + 1, stats.Generations);
        Assert.Equal(0, stats.EnginesFaulted);

        // Every engine of a swapped-out generation is disposed, and their leases on the old models ended.
        Assert.Equal(pool.CurrentGenerationLiveEngines, stats.LiveEngines);
        Assert.True(stats.LiveEngines <= pool.MaximumEngines);
        Assert.Equal(1, cache.GetStatistics().ActiveLeases);
    }

    [Fact]
    public async Task Swap_WhenNoOnePredicts_RetiresTheOldEnginesAtOnce()
    {
        using TempModelFolder folder = TestModels.CopyToTemp(TestModels.IrisPath);
        using ModelCache<ITransformer> cache = PoolFactory.Cache<IrisOrTaxiInput, FeaturesPrediction>(folder.FilePath, "swap-idle");
        using PredictionPool<IrisOrTaxiInput, FeaturesPrediction> pool = PoolFactory.Pool<IrisOrTaxiInput, FeaturesPrediction>(cache);
        pool.Predict(IrisOrTaxiInput.Sample);
        Assert.Equal(1, pool.GetStatistics().LiveEngines);

        folder.Replace(TestModels.TaxiFarePath);
        await cache.ReloadAsync();

        Assert.Equal(0, pool.GetStatistics().LiveEngines);
        Assert.Equal(1, pool.GetStatistics().EnginesDisposed);
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);
    }

    [Fact]
    public async Task Swap_WhileAnEngineIsRented_DisposesThatEngineWhenItComesBack()
    {
        using TempModelFolder folder = TestModels.CopyToTemp(TestModels.IrisPath);
        using ModelCache<ITransformer> cache = PoolFactory.Cache<IrisOrTaxiInput, FeaturesPrediction>(folder.FilePath, "swap-rented");
        using PredictionPool<IrisOrTaxiInput, FeaturesPrediction> pool = PoolFactory.Pool<IrisOrTaxiInput, FeaturesPrediction>(cache);
        PredictionEngineLease<IrisOrTaxiInput, FeaturesPrediction> rented = pool.Rent();

        folder.Replace(TestModels.TaxiFarePath);
        await cache.ReloadAsync();

        // The old engine still works for its holder, on the old model, which stays pinned.
        Assert.Equal(4, rented.Engine.Predict(IrisOrTaxiInput.Sample).Features.Length);
        Assert.Equal(1, cache.GetStatistics().ActiveLeases);
        Assert.NotEqual(4, pool.Predict(IrisOrTaxiInput.Sample).Features.Length);

        rented.Dispose();

        PredictionPoolStatistics stats = pool.GetStatistics();
        Assert.Equal(2, stats.EnginesCreated);
        Assert.Equal(1, stats.EnginesDisposed);
        Assert.Equal(1, cache.GetStatistics().ActiveLeases);
    }

    private static FeaturesPrediction PredictInto(PredictionPool<IrisOrTaxiInput, FeaturesPrediction> pool, IrisOrTaxiInput input, ref FeaturesPrediction output)
    {
        pool.Predict(input, ref output);
        return output;
    }

    private static float[] FeaturesOf(MLContext context, string path)
    {
        ITransformer model = context.Model.Load(path, out _);
        using PredictionEngine<IrisOrTaxiInput, FeaturesPrediction> engine = context.Model.CreatePredictionEngine<IrisOrTaxiInput, FeaturesPrediction>(model);
        return engine.Predict(IrisOrTaxiInput.Sample).Features;
    }
}
