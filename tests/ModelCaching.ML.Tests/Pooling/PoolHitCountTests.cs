using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// The pooled predict's fast path checks that its model still serves without the cache's hit counter and counts the hit in
/// the thread's engine cell (issue 18): the cache's hit count, its metric and its budget's uses must stay exactly what
/// they were when every prediction called <c>GetModel()</c>: one hit per prediction once the model serves.
/// </summary>
public sealed class PoolHitCountTests
{
    [Fact]
    public void Predictions_OnOneThread_CountOneHitEach_InTheStatisticsAndTheRequestsMetric()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddModelCache().AddModel<ITransformer>("hits", m => m.FromFile(TestModels.IrisPath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>());
        using ServiceProvider provider = services.BuildServiceProvider();
        using var requests = new MetricCollector<long>(provider.GetRequiredService<IMeterFactory>(), ModelCacheDiagnostics.MeterName, "modelcache.requests");
        var cache = (ModelCache<ITransformer>)provider.GetRequiredKeyedService<IModelCache<ITransformer>>("hits");
        PredictionPool<IrisData, IrisPrediction> pool = provider.GetRequiredKeyedService<PredictionPool<IrisData, IrisPrediction>>("hits");

        // The first prediction misses (and loads), then pins the model it serves: one miss, one hit, as before.
        pool.Predict(TestModels.Setosa);
        Assert.Equal(1, cache.GetStatistics().Misses);
        long before = cache.GetStatistics().Hits;
        Assert.Equal(1, before);

        var output = new IrisPrediction();
        for (int i = 0; i < 1000; i++)
        {
            pool.Predict(TestModels.Virginica);
            pool.Predict(TestModels.Virginica, ref output);
        }

        ModelCacheStatistics stats = cache.GetStatistics();
        Assert.Equal(before + 2000, stats.Hits);
        Assert.Equal(1, stats.Misses);
        requests.RecordObservableInstruments();
        IReadOnlyList<CollectedMeasurement<long>> observed = requests.GetMeasurementSnapshot();
        Assert.Equal(stats.Hits, observed.Last(m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.request.result", "hit"), new KeyValuePair<string, object?>("modelcache.model.name", "hits"))).Value);
        Assert.Equal(1, observed.Last(m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.request.result", "miss"), new KeyValuePair<string, object?>("modelcache.model.name", "hits"))).Value);

        // The other ways in count one hit each, through the cache's own counter, as before.
        using (pool.Rent())
        {
        }

        pool.Predict([TestModels.Setosa, TestModels.Virginica], new IrisPrediction[2]);
        Assert.Equal(before + 2002, cache.GetStatistics().Hits);
    }

    [Fact]
    public void Predictions_OnThreadsThatComeAndGoAndCompete_CountExactlyOneHitEach_AndTheCountOutlivesThePool()
    {
        using ModelCache<ITransformer> cache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "hits-threads");
        PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(cache);
        pool.Predict(TestModels.Setosa);
        long before = cache.GetStatistics().Hits;
        const int Calls = 3000;
        long failures = 0;

        // More threads than cells (a cell per core at most): threads that end leave cells that others take back, and
        // threads that compete share the slots; every thread's hits must land, whichever path it took.
        int threads = (2 * Environment.ProcessorCount) + 2;
        for (int round = 0; round < 2; round++)
        {
            Thread[] workers = [.. Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                try
                {
                    for (int i = 0; i < Calls; i++)
                    {
                        pool.Predict(TestModels.Virginica);
                    }
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            }))];

            // The first round one after the other (each thread ends before the next starts), the second all at once.
            foreach (Thread worker in workers)
            {
                worker.Start();
                if (round == 0)
                {
                    Assert.True(worker.Join(Eventually.Timeout));
                }
            }

            Assert.All(workers, static w => Assert.True(w.Join(Eventually.Timeout)));
            Assert.Equal(before + ((round + 1) * threads * Calls), cache.GetStatistics().Hits);
        }

        Assert.Equal(0, failures);
        long counted = cache.GetStatistics().Hits;
        pool.Dispose();
        Assert.Equal(counted, cache.GetStatistics().Hits);
        Assert.Equal(counted + 1, Hit(cache));
    }

    [Fact]
    public void Predictions_OnTheFastPath_KeepAnIdleModelLoaded_AndItUnloadsOnceTheyStop()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var options = new ModelOptions<ITransformer>
        {
            Source = new FileModelSource(TestModels.IrisPath),
            Loader = new MLNetModelLoader(PoolFactory.Context),
            DrainDelay = TimeSpan.Zero,
            IdleTimeout = TimeSpan.FromMinutes(1),
        };
        using var cache = new ModelCache<ITransformer>("idle-fast", options, time);
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(cache);
        pool.Predict(TestModels.Setosa); // loads; this thread keeps the engine, so the calls below take the fast path
        time.Advance(TimeSpan.FromSeconds(15));
        long hits = cache.GetStatistics().Hits;

        // Eight idle ticks (two timeouts) with a prediction before each: only the fast path's use keeps the model.
        for (int tick = 0; tick < 8; tick++)
        {
            pool.Predict(TestModels.Virginica);
            time.Advance(TimeSpan.FromSeconds(15));
            Assert.Equal(ModelCacheState.Ready, cache.State);
        }

        Assert.Equal(hits + 8, cache.GetStatistics().Hits);
        Assert.Equal(1, cache.Version!.Generation);

        time.Advance(TimeSpan.FromSeconds(75));

        Assert.Equal(ModelCacheState.Unloaded, cache.State);
        Assert.Equal(0, pool.GetStatistics().LiveEngines);
        Assert.Equal(0, cache.GetStatistics().ActiveLeases);
    }

    // One more hit through the cache's own counter: the pool's hits stay in the sum beside it.
    private static long Hit(ModelCache<ITransformer> cache)
    {
        cache.GetModel();
        return cache.GetStatistics().Hits;
    }
}
