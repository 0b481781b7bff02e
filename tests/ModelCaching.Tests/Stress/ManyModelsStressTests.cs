using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Stress;

/// <summary>
/// A thousand models made from a template, on eight threads, with Zipf-distributed access, under a budget of a tenth of
/// their total size: the budget holds, no caller sees a disposed model, every model is disposed exactly once.
/// </summary>
public sealed class ManyModelsStressTests : IDisposable
{
    private const int Models = 1_000;
    private const int Threads = 8;
    private const int RequestsPerThread = 5_000;

    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task AThousandTemplateModelsOnEightThreads_KeepTheBudget_NeverServeADisposedModel_AndDisposeEachModelOnce()
    {
        var random = new Random(11);
        int[] sizes = new int[Models];
        string[] names = new string[Models];
        for (int i = 0; i < Models; i++)
        {
            // Log-normal sizes across about 100x (100 B to 10 KB), in a shuffled Zipf rank order: hot models of every size.
            sizes[i] = (int)Math.Clamp(Math.Exp(random.NextDouble() * Math.Log(100)) * 100, 100, 10_000);
            names[i] = $"tenant-{i:D4}";
            _files.Write(names[i], sizes[i]);
        }

        random.Shuffle(names);
        long limit = sizes.Sum(static s => (long)s) / 10;
        double[] cumulative = ZipfCumulative(Models, exponent: 1.0);

        ServiceProvider services = _files.Services(
            cache: o => o.MaxConcurrentLoads = Environment.ProcessorCount,
            templateOptions: o => o.MemoryBudgetBytes = limit).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        long failures = 0;
        long overBudget = 0;
        long maxUsed = 0;
        string? firstFailure = null;
        using var stop = new CancellationTokenSource();
        void CheckBudget()
        {
            ModelMemoryBudgetStatus budget = provider.GetMemoryBudgets()[0];
            InterlockedMax(ref maxUsed, budget.UsedBytes);
            if (budget.UsedBytes > budget.LimitBytes)
            {
                Interlocked.Increment(ref overBudget);
            }
        }

        var monitor = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                CheckBudget();
            }
        })
        { IsBackground = true };
        monitor.Start();

        var workers = new Thread[Threads];
        for (int t = 0; t < Threads; t++)
        {
            int seed = t;
            workers[t] = new Thread(() =>
            {
                var local = new Random(1000 + seed);
                for (int i = 0; i < RequestsPerThread; i++)
                {
                    string name = names[Sample(cumulative, local.NextDouble())];
                    try
                    {
                        using ModelLease<FakeModel> lease = provider.GetCache<FakeModel>(name).Acquire();
                        if (!lease.Model.Predict().StartsWith(name, StringComparison.Ordinal))
                        {
                            throw new InvalidOperationException($"{name} served another model's content");
                        }
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref failures);
                        Interlocked.CompareExchange(ref firstFailure, ex.ToString(), null);
                    }

                    if ((i & 63) == 0)
                    {
                        CheckBudget();
                    }
                }
            });
            workers[t].Start();
        }

        foreach (Thread worker in workers)
        {
            Assert.True(worker.Join(TimeSpan.FromMinutes(3)), "a worker did not finish in 3 minutes");
        }

        stop.Cancel();
        monitor.Join();
        ModelMemoryBudgetStatus final = provider.GetMemoryBudgets()[0];
        await services.DisposeAsync();

        Assert.True(failures == 0, $"{failures} requests failed; the first: {firstFailure}");
        Assert.Equal(0, Interlocked.Read(ref overBudget));
        Assert.True(final.Evictions > 0, "the budget should have evicted models");
        Assert.InRange(maxUsed, 1, limit);

        // Every model ever loaded was disposed exactly once: evicted ones when they drained, the rest with the provider.
        FakeModel[] created;
        lock (_files.Loader.Created)
        {
            created = [.. _files.Loader.Created];
        }

        Assert.True(created.Length > Models / 2, $"only {created.Length} loads");
        Assert.All(created, static model => Assert.Equal(1, model.DisposeCount));
    }

    private static double[] ZipfCumulative(int count, double exponent)
    {
        double[] cumulative = new double[count];
        double sum = 0;
        for (int rank = 0; rank < count; rank++)
        {
            sum += 1.0 / Math.Pow(rank + 1, exponent);
            cumulative[rank] = sum;
        }

        for (int rank = 0; rank < count; rank++)
        {
            cumulative[rank] /= sum;
        }

        return cumulative;
    }

    private static int Sample(double[] cumulative, double u)
    {
        int index = Array.BinarySearch(cumulative, u);
        return Math.Min(index < 0 ? ~index : index, cumulative.Length - 1);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long seen = Volatile.Read(ref target);
        while (value > seen)
        {
            long previous = Interlocked.CompareExchange(ref target, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
