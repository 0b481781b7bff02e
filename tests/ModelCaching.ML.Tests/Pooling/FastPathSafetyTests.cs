using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// The pooled predict's fast path no longer asks the cache for its model (issue 18): it reads which version serves and
/// uses the engine its thread keeps. Real threads hammer it while the cache swaps, rolls back, unloads and is disposed;
/// no call may fail other than with <see cref="ObjectDisposedException"/> after a disposal, predict on a disposed model,
/// or predict on the old model once the cache's <c>Reloaded</c> event has been raised and handled.
/// </summary>
public sealed class FastPathSafetyTests
{
    private const int Swaps = 12;

    [Fact]
    public async Task Reload_WhileThreadsPredict_NoPredictionStartedAfterTheReloadedEventWasHandledUsesTheOldModel()
    {
        using TempModelFolder folder = TestModels.CopyToTemp(TestModels.IrisPath);
        using ModelCache<ITransformer> cache = PoolFactory.Cache<IrisOrTaxiInput, FeaturesPrediction>(folder.FilePath, "fast-swap");
        using PredictionPool<IrisOrTaxiInput, FeaturesPrediction> pool = PoolFactory.Pool<IrisOrTaxiInput, FeaturesPrediction>(cache);
        int irisLength = pool.Predict(IrisOrTaxiInput.Sample).Features.Length, taxiLength = FeaturesOf(TestModels.TaxiFarePath);
        Assert.NotEqual(irisLength, taxiLength);

        // What serves, published by a handler that runs after the pool's own (subscribed in its constructor); null while a
        // swap is under way. A call that reads the same object before and after it ran wholly after that handler.
        Expectation? current = new(irisLength);
        int loading = irisLength;
        cache.Reloaded += (_, _) => Volatile.Write(ref current, new Expectation(Volatile.Read(ref loading)));

        long failures = 0, stale = 0, checkedCalls = 0;
        string? firstProblem = null;
        using var stop = new CancellationTokenSource();
        Task[] workers = [.. Enumerable.Range(0, Math.Max(3, Environment.ProcessorCount)).Select(t => Task.Factory.StartNew(() =>
        {
            IrisOrTaxiInput input = IrisOrTaxiInput.Sample;
            var reused = new FeaturesPrediction();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    Expectation? before = Volatile.Read(ref current);
                    int length = t % 2 == 0 ? pool.Predict(input).Features.Length : PredictInto(pool, input, ref reused);
                    if (before is not null && ReferenceEquals(before, Volatile.Read(ref current)))
                    {
                        Interlocked.Increment(ref checkedCalls);
                        if (length != before.Length)
                        {
                            Interlocked.Increment(ref stale);
                            Interlocked.CompareExchange(ref firstProblem, $"a call after the Reloaded event got {length} features; the model serving has {before.Length}", null);
                        }
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref firstProblem, ex.ToString(), null);
                    Interlocked.Increment(ref failures);
                }
            }
        }, TaskCreationOptions.LongRunning))];

        for (int swap = 1; swap <= Swaps; swap++)
        {
            bool toTaxi = swap % 2 == 1;
            Volatile.Write(ref current, null);
            Volatile.Write(ref loading, toTaxi ? taxiLength : irisLength);
            folder.Replace(toTaxi ? TestModels.TaxiFarePath : TestModels.IrisPath);
            await cache.ReloadAsync();

            // Let the threads predict on the new model for a while before the next swap.
            long seen = Interlocked.Read(ref checkedCalls);
            await Eventually.TrueAsync(() => Interlocked.Read(ref checkedCalls) > seen + 200, $"checked predictions after swap {swap}");
        }

        stop.Cancel();
        await Task.WhenAll(workers).WaitAsync(Eventually.Timeout);

        Assert.True(failures == 0, $"{failures} failed predictions; first: {firstProblem}");
        Assert.True(stale == 0, $"{stale} predictions on the old model after the Reloaded event; first: {firstProblem}");
        Assert.Equal(Swaps + 1, pool.GetStatistics().Generations);
    }

    [Fact]
    public async Task ReloadsRollbacksAndUnloads_WhileThreadsPredict_NeverPredictOnADisposedModel()
    {
        using var models = new CountingModels(ModelRollbackRetention.Generation);
        PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);

        long failures = 0, wrong = 0, predictions = 0;
        string? firstProblem = null;
        using var stop = new CancellationTokenSource();
        Task[] workers = [.. Enumerable.Range(0, Math.Max(3, Environment.ProcessorCount)).Select(_ => Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (pool.Predict(TestModels.Virginica).PredictedLabel != 2f)
                    {
                        Interlocked.Increment(ref wrong);
                    }

                    Interlocked.Increment(ref predictions);
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref firstProblem, ex.ToString(), null);
                    Interlocked.Increment(ref failures);
                }
            }
        }, TaskCreationOptions.LongRunning))];

        int rollbacks = 0;
        for (int change = 1; change <= 3 * Swaps; change++)
        {
            long seen = Interlocked.Read(ref predictions);
            switch (change % 3)
            {
                case 0:
                    // An unload (the idle timeout and an eviction raise Unloaded the same way); the next call loads new
                    // content (the file still holds the version just rolled back from, which a load would refuse).
                    models.NextVersion();
                    models.Cache.Invalidate();
                    break;
                case 1:
                    models.NextVersion();
                    await models.Cache.ReloadAsync();
                    break;
                default:
                    // A rollback needs the swapped-out generation kept; an unload may have released it.
                    try
                    {
                        await models.Cache.RollbackAsync();
                        rollbacks++;
                    }
                    catch (InvalidOperationException)
                    {
                    }

                    break;
            }

            await Eventually.TrueAsync(() => Interlocked.Read(ref predictions) > seen + 200 || Interlocked.Read(ref failures) > 0, $"predictions after change {change}");
            Assert.True(failures == 0, $"{failures} failed predictions after change {change}; first: {firstProblem}");
        }

        stop.Cancel();
        await Task.WhenAll(workers).WaitAsync(Eventually.Timeout);
        pool.Dispose();
        models.Cache.Dispose();

        Assert.True(failures == 0, $"{failures} failed predictions; first: {firstProblem}");
        Assert.Equal(0, wrong);
        Assert.True(models.LoadCount > Swaps, $"only {models.LoadCount} loads");
        Assert.True(rollbacks > 0, "no rollback ran");
        for (int i = 0; i < models.LoadCount; i++)
        {
            Assert.Equal(0, models.Loaded(i).UsesAfterDisposal);
            Assert.Equal(1, models.Loaded(i).Disposals);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Dispose_WhileThreadsPredict_FailsLaterCallsWithObjectDisposedExceptionOnly(bool disposeTheCache)
    {
        using var models = new CountingModels();
        PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        pool.Predict(TestModels.Virginica);

        long otherFailures = 0, disposedFailures = 0, predictions = 0;
        string? firstProblem = null;
        Task[] workers = [.. Enumerable.Range(0, Math.Max(3, Environment.ProcessorCount)).Select(_ => Task.Factory.StartNew(() =>
        {
            while (true)
            {
                try
                {
                    pool.Predict(TestModels.Virginica);
                    Interlocked.Increment(ref predictions);
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref disposedFailures);
                    return;
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref firstProblem, ex.ToString(), null);
                    Interlocked.Increment(ref otherFailures);
                    return;
                }
            }
        }, TaskCreationOptions.LongRunning))];

        await Eventually.TrueAsync(() => Interlocked.Read(ref predictions) > 1000, "predictions before the disposal");
        if (disposeTheCache)
        {
            models.Cache.Dispose();
        }
        else
        {
            pool.Dispose();
        }

        await Task.WhenAll(workers).WaitAsync(Eventually.Timeout);

        Assert.True(otherFailures == 0, $"{otherFailures} predictions failed otherwise; first: {firstProblem}");
        Assert.Equal(workers.Length, disposedFailures);
        Assert.Throws<ObjectDisposedException>(() => pool.Predict(TestModels.Virginica));
        var output = new IrisPrediction();
        Assert.Throws<ObjectDisposedException>(() => pool.Predict(TestModels.Virginica, ref output));

        pool.Dispose();
        models.Cache.Dispose();
        Assert.Equal(0, models.Loaded(0).UsesAfterDisposal);
        Assert.Equal(1, models.Loaded(0).Disposals);
    }

    private static int PredictInto(PredictionPool<IrisOrTaxiInput, FeaturesPrediction> pool, IrisOrTaxiInput input, ref FeaturesPrediction output)
    {
        pool.Predict(input, ref output);
        return output.Features.Length;
    }

    private static int FeaturesOf(string path)
    {
        ITransformer model = PoolFactory.Context.Model.Load(path, out _);
        using PredictionEngine<IrisOrTaxiInput, FeaturesPrediction> engine = PoolFactory.Context.Model.CreatePredictionEngine<IrisOrTaxiInput, FeaturesPrediction>(model);
        return engine.Predict(IrisOrTaxiInput.Sample).Features.Length;
    }

    private sealed record Expectation(int Length);
}
