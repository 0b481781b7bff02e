using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// Churn under a small budget with sizes that change on every load (attacks on issue 17's fixes): synchronous and
/// asynchronous callers, leases, Invalidate, from many threads. No use after dispose, no failure, the cap holds.
/// </summary>
public sealed class BudgetChurnAttackTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ManyThreadsLeasingInvalidatingAndLoading_WithSizesThatChangeEveryLoad_NeverUseADisposedModel_NorFail_NorExceedTheCap(bool draining)
    {
        const int Threads = 16;
        // Misses wait for evicted models' bytes to drain (1 s of fake time, some real milliseconds): fewer operations then.
        int opsPerThread = draining ? 150 : 1_500;
        int done = 0;
        const int Names = 12;
        const long Limit = 200;
        int failures = 0;
        int overCap = 0;
        var errors = new ConcurrentQueue<Exception>();
        int usesAfterDisposeBefore = FakeModel.UsesAfterDispose;
        await using ServiceProvider services = _files.Services(
            cache: o => o.MaxConcurrentLoads = 2,
            template: t => t.FromFactory(static (name, _) => ValueTask.FromResult(new FakeModel(name)))
                .Configure(o =>
                {
                    // Lies differently on every load: 10 to 90 bytes.
                    o.SizeEstimator = static (_, _) => Random.Shared.Next(10, 91);
                    o.EvictionDrainDelay = draining ? TimeSpan.FromSeconds(1) : TimeSpan.Zero;
                    o.DrainDelay = draining ? TimeSpan.FromSeconds(2) : TimeSpan.Zero;
                    o.LoadTimeout = TimeSpan.FromSeconds(30);
                }),
            templateOptions: o => o.MemoryBudgetBytes = Limit,
            fromFiles: false).BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        Task[] workers = [.. Enumerable.Range(0, Threads).Select(w => Task.Factory.StartNew(
            () =>
            {
                var random = new Random(w);
                for (int op = 0; op < opsPerThread; op++)
                {
                    string name = $"t{(int)Math.Min(Names - 1, Math.Abs(random.NextDouble() * random.NextDouble() * Names))}";
                    try
                    {
                        IModelCache<FakeModel> cache = provider.GetCache<FakeModel>(name);
                        switch (random.Next(10))
                        {
                            case 0:
                                cache.Invalidate();
                                break;
                            case < 5:
                                using (ModelLease<FakeModel> lease = cache.Acquire())
                                {
                                    if (lease.Model.Predict() != name)
                                    {
                                        Interlocked.Increment(ref failures);
                                    }
                                }

                                break;
                            default:
                                if (cache.GetModel().Content != name)
                                {
                                    Interlocked.Increment(ref failures);
                                }

                                break;
                        }

                        Interlocked.Increment(ref done);
                        ModelMemoryBudgetStatus budget = provider.GetMemoryBudgets()[0];
                        if (budget.UsedBytes > Limit)
                        {
                            Interlocked.Increment(ref overCap);
                        }
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref failures);
                        if (errors.Count < 5)
                        {
                            errors.Enqueue(ex);
                        }
                    }
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default))];

        Task all = Task.WhenAll(workers);
        using var ticking = new CancellationTokenSource();
        int ticks = 0;
        Task ticker = Task.Run(async () =>
        {
            // Time moves while the workers run (drains end, timeouts may pass): 100 ms of fake time per real millisecond.
            while (draining && !ticking.IsCancellationRequested)
            {
                _files.Time.Advance(TimeSpan.FromMilliseconds(100));
                Interlocked.Increment(ref ticks);
                await Task.Delay(1);
            }
        });
        Task finished = await Task.WhenAny(all, Task.Delay(Bound));
        int ticksAtEnd = Volatile.Read(ref ticks);
        await Task.Delay(200);
        bool tickerStuck = Volatile.Read(ref ticks) == ticksAtEnd;
        await ticking.CancelAsync();
        ModelMemoryBudgetStatus end = provider.GetMemoryBudgets()[0];
        Assert.True(finished == all, $"jammed ({done} operations done; ticker stuck: {tickerStuck} after {ticksAtEnd} ticks): used {end.UsedBytes}, reserved {end.ReservedBytes}, draining {end.DrainingBytes}, waiting {end.WaitingLoads}; states: {string.Join(", ", provider.Names.Select(n => $"{n}={provider.GetCache(n).State}"))}");
        Assert.True(failures == 0, $"{failures} of {Threads * opsPerThread} operations failed: {string.Join(" | ", errors.Select(e => e.Message))}");
        Assert.Equal(0, overCap);
        Assert.Equal(usesAfterDisposeBefore, FakeModel.UsesAfterDispose);
        await ticker.WaitAsync(Bound);
    }
}
