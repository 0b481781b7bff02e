using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// The fast path of <c>Predict</c>: a thread keeps its engine between predictions. A generation must still be
/// released when that thread predicts through the swap, goes quiet for good, or dies.
/// </summary>
public sealed class ThreadKeptEngineTests
{
    [Fact]
    public void Predict_RepeatedOnOneThread_ReusesOneEngine()
    {
        using var models = new CountingModels();
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        var output = new IrisPrediction();

        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
            pool.Predict(TestModels.Setosa, ref output);
            Assert.Equal(0f, output.PredictedLabel);
        }

        Assert.Equal(1, pool.GetStatistics().EnginesCreated);
    }

    [Fact]
    public void PoolsOfDifferentTypesOnOneThread_NeverShareAKeptEngine()
    {
        using ModelCache<ITransformer> irisCache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "iris");
        using ModelCache<ITransformer> taxiCache = PoolFactory.Cache<IrisOrTaxiInput, FeaturesPrediction>(TestModels.TaxiFarePath, "taxi");
        using PredictionPool<IrisData, IrisPrediction> iris = PoolFactory.Pool<IrisData, IrisPrediction>(irisCache);
        using PredictionPool<IrisOrTaxiInput, FeaturesPrediction> taxi = PoolFactory.Pool<IrisOrTaxiInput, FeaturesPrediction>(taxiCache);
        int taxiFeatures = taxi.Predict(IrisOrTaxiInput.Sample).Features.Length;

        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(2f, iris.Predict(TestModels.Virginica).PredictedLabel);
            Assert.Equal(taxiFeatures, taxi.Predict(IrisOrTaxiInput.Sample).Features.Length);
        }

        // A thread's cell names its generation by an id that must be unique across pools of any types.
        Assert.NotEqual(iris.ServingGeneration!.Id, taxi.ServingGeneration!.Id);
        Assert.NotEqual(4, taxiFeatures);
    }

    [Fact]
    public async Task Reload_WhileTheKeepingThreadIsQuietForGood_StillReleasesTheOldGeneration()
    {
        using var models = new CountingModels(ModelRollbackRetention.None);
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        using var predicted = new ManualResetEventSlim();
        using var finish = new ManualResetEventSlim();
        var quiet = new Thread(() =>
        {
            pool.Predict(TestModels.Virginica);
            pool.Predict(TestModels.Virginica);
            predicted.Set();
            finish.Wait();
        }) { IsBackground = true };
        quiet.Start();
        Assert.True(predicted.Wait(Eventually.Timeout));

        models.NextVersion();
        await models.Cache.ReloadAsync();

        await Eventually.TrueAsync(() => models.Loaded(0).Disposals == 1, "the old model is disposed while its thread still lives");
        Assert.True(quiet.IsAlive);
        finish.Set();
        quiet.Join();
        Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
        Assert.Equal(0, models.Loaded(1).Disposals);
    }

    [Fact]
    public async Task Reload_AfterTheKeepingThreadDied_StillReleasesTheOldGeneration()
    {
        using var models = new CountingModels(ModelRollbackRetention.None);
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        var thread = new Thread(() =>
        {
            pool.Predict(TestModels.Virginica);
            pool.Predict(TestModels.Virginica);
        });
        thread.Start();
        thread.Join();

        models.NextVersion();
        await models.Cache.ReloadAsync();

        await Eventually.TrueAsync(() => models.Loaded(0).Disposals == 1, "the old model is disposed after its thread died");
        PredictionPoolStatistics statistics = pool.GetStatistics();
        Assert.Equal(statistics.EnginesCreated, statistics.EnginesDisposed);
    }

    [Fact]
    public async Task Reload_WhileTheKeepingThreadPredicts_DisposesTheOldModelOnlyAfterThatPrediction()
    {
        using var models = new CountingModels(ModelRollbackRetention.None);
        using PredictionPool<BlockingIrisData, IrisPrediction> pool = PoolFactory.Pool<BlockingIrisData, IrisPrediction>(models.Cache);
        var input = new BlockingIrisData();
        IrisPrediction? blockedResult = null;
        var thread = new Thread(() =>
        {
            pool.Predict(input); // keeps the engine
            input.Block = true;
            blockedResult = pool.Predict(input);
        });
        thread.Start();
        Assert.True(input.Entered.Wait(Eventually.Timeout));

        models.NextVersion();
        await models.Cache.ReloadAsync();
        Assert.Equal(2, models.LoadCount);
        Assert.Equal(0, models.Loaded(0).Disposals);

        input.Release.Set();
        thread.Join();
        Assert.Equal(2f, blockedResult!.PredictedLabel);
        await Eventually.TrueAsync(() => models.Loaded(0).Disposals == 1, "the old model is disposed once its last engine came back");
    }

    [Fact]
    public void Exhausted_WithWaitPolicy_TakesBackTheEngineAQuietThreadKeeps()
    {
        using var models = new CountingModels();
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache, o =>
        {
            o.MaximumEngines = 2;
            o.ExhaustionPolicy = PoolExhaustionPolicy.Wait;
            o.WaitTimeout = TimeSpan.Zero;
        });
        using var predicted = new ManualResetEventSlim();
        using var finish = new ManualResetEventSlim();
        var quiet = new Thread(() =>
        {
            pool.Predict(TestModels.Virginica);
            predicted.Set();
            finish.Wait();
        }) { IsBackground = true };
        quiet.Start();
        Assert.True(predicted.Wait(Eventually.Timeout));

        try
        {
            using PredictionEngineLease<IrisData, IrisPrediction> first = pool.Rent();
            using PredictionEngineLease<IrisData, IrisPrediction> second = pool.Rent();

            Assert.NotSame(first.Engine, second.Engine);
            Assert.Equal(2, pool.GetStatistics().EnginesCreated);
            Assert.Equal(0, pool.GetStatistics().Waits);
        }
        finally
        {
            finish.Set();
            quiet.Join();
        }
    }

    [Fact]
    public async Task ThreadsThatComeAndGo_WhileTheModelIsReloaded_NeverFailAndEveryOldGenerationIsReleased()
    {
        using var models = new CountingModels(ModelRollbackRetention.None);
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        pool.Predict(TestModels.Virginica);
        int cores = Math.Max(2, Environment.ProcessorCount);
        long failures = 0, predictions = 0;
        string? firstProblem = null;
        using var stop = new CancellationTokenSource();

        // Each worker is a series of short-lived threads: every thread keeps an engine, predicts a little, and dies.
        Task[] workers = [.. Enumerable.Range(0, cores).Select(_ => Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var thread = new Thread(() =>
                {
                    for (int i = 0; i < 200; i++)
                    {
                        try
                        {
                            if (pool.Predict(TestModels.Virginica).PredictedLabel != 2f)
                            {
                                throw new InvalidOperationException("wrong prediction");
                            }

                            Interlocked.Increment(ref predictions);
                        }
                        catch (Exception ex)
                        {
                            Interlocked.Increment(ref failures);
                            Interlocked.CompareExchange(ref firstProblem, ex.ToString(), null);
                        }
                    }
                });
                thread.Start();
                thread.Join();
            }
        }, TaskCreationOptions.LongRunning))];

        for (int reload = 1; reload <= 10; reload++)
        {
            long seen = Interlocked.Read(ref predictions);
            models.NextVersion();
            await models.Cache.ReloadAsync();
            await Eventually.TrueAsync(() => Interlocked.Read(ref predictions) > seen + 400, $"predictions after reload {reload}");
        }

        stop.Cancel();
        await Task.WhenAll(workers).WaitAsync(Eventually.Timeout);

        Assert.True(failures == 0, $"{failures} failed predictions; first: {firstProblem}");
        int loads = models.LoadCount;
        await Eventually.TrueAsync(
            () => Enumerable.Range(0, loads - 1).All(i => models.Loaded(i).Disposals == 1),
            "every old generation's model is disposed once");
        Assert.Equal(0, models.Loaded(loads - 1).Disposals);
        Assert.True(pool.CurrentGenerationLiveEngines <= pool.MaximumEngines);
    }
}

/// <summary>iris.zip's input whose first column blocks while <see cref="Block"/> is set, to hold a prediction in progress.</summary>
public sealed class BlockingIrisData
{
    [Microsoft.ML.Data.NoColumn]
    public bool Block { get; set; }

    [Microsoft.ML.Data.NoColumn]
    public ManualResetEventSlim Entered { get; } = new();

    [Microsoft.ML.Data.NoColumn]
    public ManualResetEventSlim Release { get; } = new();

    public float Label => 0;

    public float SepalLength
    {
        get
        {
            if (Block)
            {
                Entered.Set();
                Release.Wait(Eventually.Timeout);
            }

            return 6.7f;
        }
    }

    public float SepalWidth => 3.0f;

    public float PetalLength => 5.2f;

    public float PetalWidth => 2.3f;
}
