using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Tests.Support;
using Xunit.Abstractions;

namespace ModelCaching.ML.Tests.Templates;

/// <summary>
/// Issue 11's stress test on real ML.NET models: 1,000 template names (copies of iris.zip and taxi-fare.zip) predicted
/// through <see cref="PredictionPoolProvider{TData, TPrediction}"/> on 8 threads with Zipf(1) access, under a budget of
/// about 7.5% of the total. Real time and real threads (the point is real concurrency); every wait is bounded.
/// </summary>
public sealed class TemplateStressTests(ITestOutputHelper output) : IDisposable
{
    private const int NamesPerModel = 500;
    private const int Threads = 8;
    private const int RequestsPerThread = 250;
    private const double ZipfExponent = 1.0;

    private static readonly long IrisBytes = new FileInfo(TestModels.IrisPath).Length;
    private static readonly long TaxiBytes = new FileInfo(TestModels.TaxiFarePath).Length;

    private readonly TenantModelFolder _tenants = new();
    private readonly CountingModelLoader _loader = new(PoolFactory.Context);

    public void Dispose() => _tenants.Dispose();

    [Fact]
    public async Task ThousandTemplateNames_OnEightThreadsWithZipfAccess_NeverGoOverTheBudget_NeverFail_AndDisposeEveryEvictedModelOnce()
    {
        string[] iris = [.. Enumerable.Range(0, NamesPerModel).Select(static i => $"iris-{i:D4}")];
        string[] taxi = [.. Enumerable.Range(0, NamesPerModel).Select(static i => $"taxi-{i:D4}")];
        _tenants.Add(TestModels.IrisPath, iris).Add(TestModels.TaxiFarePath, taxi);
        long total = (NamesPerModel * IrisBytes) + (NamesPerModel * TaxiBytes);
        long limit = total * 75 / 1000;
        long largest = Math.Max(IrisBytes, TaxiBytes);

        // Popularity ranks over both kinds, shuffled with a fixed seed: rank 1 is the hottest name.
        string[] byRank = [.. iris.Concat(taxi)];
        new Random(11).Shuffle(byRank);
        double[] cdf = ZipfCdf(byRank.Length, ZipfExponent);

        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddModelCache(o => o.MemoryBudgetBytes = limit)
            .AddModelTemplate<ITransformer>("iris", t => t.FromFile(_tenants.PathTemplate).UseLoader(_loader).WithPredictionPool<IrisData, IrisPrediction>().Configure(static o => { o.DrainDelay = TimeSpan.Zero; o.RollbackRetention = ModelRollbackRetention.None; }), o => o.NamePrefix = "iris-")
            .AddModelTemplate<ITransformer>("taxi", t => t.FromFile(_tenants.PathTemplate).UseLoader(_loader).WithPredictionPool<TaxiTrip, TaxiFarePrediction>().Configure(static o => { o.DrainDelay = TimeSpan.Zero; o.RollbackRetention = ModelRollbackRetention.None; }), o => o.NamePrefix = "taxi-");
        ServiceProvider container = services.BuildServiceProvider();
        var irisPools = container.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        var taxiPools = container.GetRequiredService<PredictionPoolProvider<TaxiTrip, TaxiFarePrediction>>();
        var caches = container.GetRequiredService<IModelCacheProvider>();

        long maxUsed = 0;
        int wrong = 0;
        int completed = 0;
        var failures = new ConcurrentQueue<Exception>();
        using var done = new CancellationTokenSource();
        void Sample()
        {
            long used = Assert.Single(caches.GetMemoryBudgets()).UsedBytes;
            long seen;
            while (used > (seen = Volatile.Read(ref maxUsed)) && Interlocked.CompareExchange(ref maxUsed, used, seen) != seen)
            {
            }
        }

        Thread monitor = new(() =>
        {
            while (!done.IsCancellationRequested)
            {
                Sample();
                Thread.Yield();
            }
        }) { IsBackground = true, Name = "budget monitor" };

        var stopwatch = Stopwatch.StartNew();
        monitor.Start();
        Thread[] workers = [.. Enumerable.Range(0, Threads).Select(w => new Thread(() =>
        {
            var random = new Random(1000 + w);
            var irisOutput = new IrisPrediction();
            for (int i = 0; i < RequestsPerThread; i++)
            {
                string name = byRank[SampleRank(cdf, random)];
                try
                {
                    if (name[0] == 'i')
                    {
                        irisPools.Predict(name, TestModels.Virginica, ref irisOutput);
                        if (irisOutput.PredictedLabel != 2f)
                        {
                            Interlocked.Increment(ref wrong);
                        }
                    }
                    else if (Math.Abs(taxiPools.Predict(name, TestModels.Trip).FareAmount - TestModels.TripFare) > 0.001f)
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }
                catch (Exception ex)
                {
                    failures.Enqueue(ex);
                }

                Sample();
                Interlocked.Increment(ref completed);
            }
        }) { Name = $"stress worker {w}" })];
        foreach (Thread worker in workers)
        {
            worker.Start();
        }

        foreach (Thread worker in workers)
        {
            Assert.True(worker.Join(TimeSpan.FromMinutes(2)), $"a worker did not finish within 2 minutes: {Volatile.Read(ref completed):N0} predictions done, {_loader.LoadCount:N0} loads, {failures.Count} failures (first: {(failures.TryPeek(out Exception? first) ? first.Message : "none")}), budget {Assert.Single(caches.GetMemoryBudgets())}, states: {string.Join(", ", caches.Names.Select(n => caches.TryGetCache(n, out IModelCache? c) ? c : null).Where(c => c is not null && c.State is not ModelCacheState.Evicted).Select(c => $"{c!.Name}={c.State}"))}");
        }

        done.Cancel();
        Assert.True(monitor.Join(Eventually.Timeout));
        stopwatch.Stop();

        ModelMemoryBudgetStatus budget = Assert.Single(caches.GetMemoryBudgets());
        output.WriteLine($"{Threads * RequestsPerThread:N0} predictions over {byRank.Length:N0} names in {stopwatch.Elapsed.TotalSeconds:N1} s; {_loader.LoadCount:N0} loads ({_loader.LoadTime.TotalSeconds:N1} s in ML.NET's load), {budget.Evictions:N0} evictions");
        output.WriteLine($"budget {limit:N0} bytes ({limit * 100.0 / total:N1}% of {total:N0}); most used seen {maxUsed:N0} (the budget is a cap: at most {limit:N0})");

        Assert.Empty(failures.Select(static f => f.GetType().Name + ": " + f.Message).Distinct().Take(5));
        Assert.Equal(0, wrong);
        Assert.True(maxUsed <= limit, $"used {maxUsed:N0} bytes, more than the limit {limit:N0} (the largest model is {largest:N0})");
        Assert.True(budget.Evictions > 0, "the budget evicted models (the working set does not fit)");

        // Every generation that no longer serves was disposed exactly once; the serving ones not at all.
        await Eventually.TrueAsync(() => Assert.Single(caches.GetMemoryBudgets()) is { DrainingBytes: 0, ReservedBytes: 0 }, "nothing left draining");
        var serving = new HashSet<DisposalCountingTransformer>(ReferenceEqualityComparer.Instance);
        foreach (string name in caches.Names)
        {
            if (caches.GetCache<ITransformer>(name) is { State: ModelCacheState.Ready } cache)
            {
                serving.Add((DisposalCountingTransformer)cache.GetModel());
            }
        }

        (string Source, DisposalCountingTransformer Model)[] loaded = [.. _loader.Loaded];
        Assert.All(loaded, l => Assert.Equal(serving.Contains(l.Model) ? 0 : 1, l.Model.Disposals));
        Assert.True(loaded.Length - serving.Count >= budget.Evictions, $"{loaded.Length - serving.Count:N0} generations retired, {budget.Evictions:N0} evictions");

        await container.DisposeAsync();
        Assert.All(loaded, l => Assert.Equal(1, l.Model.Disposals));
    }

    private static double[] ZipfCdf(int count, double exponent)
    {
        var cdf = new double[count];
        double sum = 0;
        for (int rank = 1; rank <= count; rank++)
        {
            sum += 1.0 / Math.Pow(rank, exponent);
            cdf[rank - 1] = sum;
        }

        for (int i = 0; i < count; i++)
        {
            cdf[i] /= sum;
        }

        return cdf;
    }

    private static int SampleRank(double[] cdf, Random random)
    {
        int index = Array.BinarySearch(cdf, random.NextDouble());
        return Math.Min(index < 0 ? ~index : index, cdf.Length - 1);
    }
}
