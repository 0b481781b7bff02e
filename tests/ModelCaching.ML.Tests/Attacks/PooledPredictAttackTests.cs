using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Attacks;

/// <summary>
/// Attacks on the pooled predict's fast path (45cad35, issue 18: it compares the cache's version to its generation's and
/// counts its hit in the thread's engine cell): many pools on one cache, one disposed while the threads predict, reloads
/// racing the predictions. Hits must stay exact (one per successful prediction, none for a refused one, no miss while a
/// model serves), no prediction may run on a disposed model, and a disposed pool answers only ObjectDisposedException.
/// </summary>
public sealed class PooledPredictAttackTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Three_pools_on_one_cache_with_one_disposed_and_reloads_racing_count_exactly_one_hit_per_prediction_and_never_use_a_disposed_model()
    {
        const int Threads = 6;
        const int CallsPerThread = 20_000;
        const int Reloads = 8;
        using var models = new CountingModels(ModelRollbackRetention.None);
        PredictionPool<IrisData, IrisPrediction>[] pools = [.. Enumerable.Range(0, 3).Select(_ => PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache))];
        Assert.Equal(2f, pools[0].Predict(TestModels.Virginica).PredictedLabel); // loads: the one miss
        ModelCacheStatistics before = models.Cache.GetStatistics();
        long generationsBefore = pools.Sum(static pool => pool.GetStatistics().Generations);

        long succeeded = 0, refused = 0, wrong = 0, failures = 0;
        string? firstProblem = null;
        using var disposedOne = new ManualResetEventSlim();
        using var started = new CountdownEvent(Threads);
        Thread[] workers = [.. Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            started.Signal();
            for (int i = 0; i < CallsPerThread; i++)
            {
                PredictionPool<IrisData, IrisPrediction> pool = pools[(i + t) % pools.Length];
                try
                {
                    if (pool.Predict(TestModels.Virginica).PredictedLabel != 2f)
                    {
                        Interlocked.Increment(ref wrong);
                    }

                    Interlocked.Increment(ref succeeded);
                }
                catch (ObjectDisposedException) when (pool == pools[1] && disposedOne.IsSet)
                {
                    Interlocked.Increment(ref refused);
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref firstProblem, ex.ToString(), null);
                    Interlocked.Increment(ref failures);
                }
            }
        })
        { IsBackground = true })];
        foreach (Thread worker in workers)
        {
            worker.Start();
        }

        Assert.True(started.Wait(Bound));
        for (int reload = 1; reload <= Reloads; reload++)
        {
            models.NextVersion();
            await models.Cache.ReloadAsync().WaitAsync(Bound);
            if (reload == Reloads / 2)
            {
                disposedOne.Set(); // set first: a refusal seen after Dispose starts is expected
                pools[1].Dispose();
            }
        }

        foreach (Thread worker in workers)
        {
            Assert.True(worker.Join(Bound), "a predicting thread did not end within the bound");
        }

        Assert.True(failures == 0, $"{failures} predictions failed otherwise; first: {firstProblem}");
        Assert.Equal(0, wrong);
        Assert.Equal(Threads * CallsPerThread, succeeded + refused);
        Assert.Throws<ObjectDisposedException>(() => pools[1].Predict(TestModels.Virginica));

        // One hit per successful prediction (whichever path it took: the cell's count, a slow path's GetModel), plus the
        // one lease each engine generation a pool makes takes on its model (Acquire: a hit, as before the fast path);
        // no miss: a model served throughout; and the disposed pool's count outlives it.
        ModelCacheStatistics after = models.Cache.GetStatistics();
        long pins = pools.Sum(static pool => pool.GetStatistics().Generations) - generationsBefore;
        Assert.Equal(before.Misses, after.Misses);
        // Two threads that see a new model at once may each pin it before one generation wins (the loser's lease is let
        // go, its hit stays): at most one such extra pin per thread per model. A hit lost is never allowed.
        long extra = after.Hits - before.Hits - succeeded - pins;
        Assert.True(extra >= 0 && extra < Threads * (Reloads + 1), $"{after.Hits - before.Hits} hits for {succeeded} predictions, {pins} generations' pins and {refused} refused calls");

        pools[0].Dispose();
        pools[2].Dispose();
        models.Cache.Dispose();
        Assert.Equal(Reloads + 1, models.LoadCount);
        for (int i = 0; i < models.LoadCount; i++)
        {
            Assert.Equal(0, models.Loaded(i).UsesAfterDisposal);
            Assert.Equal(1, models.Loaded(i).Disposals);
        }

        Assert.Equal(after.Hits, models.Cache.GetStatistics().Hits); // the pools' counts outlive them
    }

    [Fact]
    public void A_call_on_a_disposed_pool_counts_no_hit_and_loads_nothing()
    {
        using var models = new CountingModels();
        PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        pool.Predict(TestModels.Setosa);
        pool.Dispose();
        ModelCacheStatistics before = models.Cache.GetStatistics();

        // Serving: a refused call is no request for the model.
        Assert.Throws<ObjectDisposedException>(() => pool.Predict(TestModels.Virginica));
        var output = new IrisPrediction();
        Assert.Throws<ObjectDisposedException>(() => pool.Predict(TestModels.Virginica, ref output));
        Assert.Equal(before.Hits, models.Cache.GetStatistics().Hits);

        // Unloaded: a call on the disposed pool must not load the model again (a careless caller kept the pool).
        models.Cache.Invalidate();
        Assert.Throws<ObjectDisposedException>(() => pool.Predict(TestModels.Virginica));
        Assert.Throws<ObjectDisposedException>(() => pool.Predict(TestModels.Virginica, ref output));
        Assert.Equal(1, models.LoadCount);
        Assert.Equal(before.Misses, models.Cache.GetStatistics().Misses);
        Assert.NotEqual(ModelCacheState.Ready, models.Cache.State);
    }

    [Fact]
    public void A_pool_used_after_its_cache_or_itself_was_disposed_throws_ObjectDisposedException_on_every_way_in()
    {
        using var models = new CountingModels();
        PredictionPool<IrisData, IrisPrediction> first = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        PredictionPool<IrisData, IrisPrediction> second = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        first.Predict(TestModels.Setosa);
        second.Predict(TestModels.Setosa);

        first.Dispose();
        first.Dispose(); // twice: harmless
        var output = new IrisPrediction();
        Assert.Throws<ObjectDisposedException>(() => first.Predict(TestModels.Virginica));
        Assert.Throws<ObjectDisposedException>(() => first.Predict(TestModels.Virginica, ref output));
        Assert.Throws<ObjectDisposedException>(() => first.Predict([TestModels.Virginica], new IrisPrediction[1]));
        Assert.Throws<ObjectDisposedException>(() => first.Rent());
        Assert.Equal(2f, second.Predict(TestModels.Virginica).PredictedLabel); // the other pool on the cache serves on

        models.Cache.Dispose();
        Assert.Throws<ObjectDisposedException>(() => second.Predict(TestModels.Virginica));
        Assert.Throws<ObjectDisposedException>(() => second.Predict(TestModels.Virginica, ref output));
        Assert.Throws<ObjectDisposedException>(() => second.Predict([TestModels.Virginica], new IrisPrediction[1]));
        Assert.Throws<ObjectDisposedException>(() => second.Rent());
        second.Dispose();
        Assert.Equal(0, models.Loaded(0).UsesAfterDisposal);
        Assert.Equal(1, models.Loaded(0).Disposals);
    }
}
