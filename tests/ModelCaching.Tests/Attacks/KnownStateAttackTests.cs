using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// Attacks on the known-name state made lazily or shared (1021817, issue 18): the generation's budget charge as a value and
/// the budget member as its own eviction entry under evictions racing loads, leases, reloads and invalidations (the
/// budget's bytes must equal the resident generations' once quiet, never below zero); the provider's metrics for template
/// models after that churn; the serving events made at the first subscription racing reloads.
/// </summary>
public sealed class KnownStateAttackTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Evictions_racing_loads_leases_reloads_and_invalidations_leave_the_budget_equal_to_the_resident_models_and_the_metrics_exact()
    {
        const int Threads = 8;
        const int OpsPerThread = 600;
        const int Names = 10;
        const long Size = 30;
        const long Limit = 100; // three models fit: evictions on most misses
        int failures = 0;
        int negative = 0;
        var errors = new ConcurrentQueue<string>();
        var services = _files.Services(
            cache: o => o.MaxConcurrentLoads = 2,
            template: t => t.FromFactory(static (name, _) => ValueTask.FromResult(new FakeModel(name)))
                .Configure(static o =>
                {
                    o.SizeEstimator = static (_, _) => Size;
                    o.EvictionDrainDelay = TimeSpan.Zero;
                    o.LoadTimeout = Timeout.InfiniteTimeSpan;
                }),
            templateOptions: o => o.MemoryBudgetBytes = Limit,
            fromFiles: false);
        services.AddMetrics();
        ServiceProvider built = services.BuildServiceProvider();
        IModelCacheProvider provider = built.GetRequiredService<IModelCacheProvider>();
        using var states = new MetricCollector<long>(built.GetRequiredService<IMeterFactory>(), ModelCacheDiagnostics.MeterName, "modelcache.model.count");

        Task[] workers = [.. Enumerable.Range(0, Threads).Select(w => Task.Factory.StartNew(
            () =>
            {
                var random = new Random(w);
                for (int op = 0; op < OpsPerThread; op++)
                {
                    string name = $"t{random.Next(Names)}";
                    try
                    {
                        IModelCache<FakeModel> cache = provider.GetCache<FakeModel>(name);
                        switch (random.Next(12))
                        {
                            case 0:
                                cache.Invalidate();
                                break;
                            case 1:
                                _ = cache.ReloadAsync().Wait(Bound) ? 0 : Interlocked.Increment(ref failures);
                                break;
                            case < 7:
                                using (ModelLease<FakeModel> lease = cache.Acquire())
                                {
                                    if (lease.Model.IsDisposed || lease.Model.Content != name)
                                    {
                                        Interlocked.Increment(ref failures);
                                        errors.Enqueue($"a lease on {lease.Model.Content} (disposed: {lease.Model.IsDisposed}) for {name}");
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

                        ModelMemoryBudgetStatus budget = provider.GetMemoryBudgets()[0];
                        if (budget.ResidentBytes < 0 || budget.DrainingBytes < 0 || budget.ReservedBytes < 0)
                        {
                            Interlocked.Increment(ref negative);
                        }
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref failures);
                        errors.Enqueue(ex.ToString());
                    }
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default))];
        await Task.WhenAll(workers).WaitAsync(Bound);
        Assert.True(failures == 0, $"{failures} failures: " + string.Join(Environment.NewLine, errors.Take(3)));
        Assert.Equal(0, negative);

        // Quiet now: what the budget holds is the resident models' bytes, nothing reserved or draining.
        string[] names = [.. Enumerable.Range(0, Names).Select(static i => $"t{i}")];
        bool Settled()
        {
            ModelMemoryBudgetStatus status = provider.GetMemoryBudgets()[0];
            long resident = names.Count(n => provider.GetCache<FakeModel>(n).State is ModelCacheState.Ready or ModelCacheState.Degraded) * Size;
            return status.ResidentBytes == resident && status.DrainingBytes == 0 && status.ReservedBytes == 0 && status.WaitingLoads == 0;
        }

        ModelMemoryBudgetStatus end = provider.GetMemoryBudgets()[0];
        Assert.True(SpinWait.SpinUntil(Settled, Bound), $"the budget does not match the resident models: {end}; states: {string.Join(", ", names.Select(n => $"{n}={provider.GetCache(n).State}"))}");
        Assert.True(end.Evictions > 0, "no eviction raced the loads");

        // The provider's metrics report each template model's state as it is now (evicted ones included).
        states.RecordObservableInstruments();
        IReadOnlyList<CollectedMeasurement<long>> observed = states.GetMeasurementSnapshot();
        foreach (string name in names)
        {
            string state = provider.GetCache(name).State switch
            {
                ModelCacheState.Ready => "ready",
                ModelCacheState.Evicted => "evicted",
                ModelCacheState.NotLoaded => "not_loaded",
                ModelCacheState.Degraded => "degraded",
                ModelCacheState.Failed => "failed",
                ModelCacheState.Loading => "loading",
                _ => "unloaded",
            };
            var tag = new KeyValuePair<string, object?>("modelcache.model.name", name);
            Assert.Equal(1, observed.Single(m => m.ContainsTags(tag, new("modelcache.model.state", state))).Value);
        }

        await built.DisposeAsync();
        states.Clear();
        states.RecordObservableInstruments();
        Assert.Empty(states.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task Subscriptions_racing_reloads_on_many_threads_each_see_the_reload_made_while_subscribed_and_none_after_the_last_unsubscribe()
    {
        // The contract of a field-like event (IModelCache.Reloaded): a handler added before a reload starts is called for
        // it; a raise that read the handlers before a removal may still call a removed one (so no claim is made for the
        // reloads of the other threads); once every handler is removed and no reload runs, none is called.
        const int Threads = 8;
        const int Rounds = 50;
        var factory = new FreshFactory();
        await using var cache = new ModelCache<FakeModel>("events", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero }, new Microsoft.Extensions.Time.Testing.FakeTimeProvider());
        int failures = 0;
        var errors = new ConcurrentQueue<string>();
        int late = 0;
        bool allRemoved = false;
        using var barrier = new Barrier(Threads);
        Thread[] threads = [.. Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            barrier.SignalAndWait(Bound);
            for (int round = 0; round < Rounds; round++)
            {
                var seen = new ConcurrentBag<long>();
                EventHandler<ModelReloadedEventArgs> handler = (_, e) =>
                {
                    seen.Add(e.Current.Generation);
                    if (Volatile.Read(ref allRemoved))
                    {
                        Interlocked.Increment(ref late);
                    }
                };
                cache.Reloaded += handler;
                try
                {
                    Task<ModelVersion> reload = cache.ReloadAsync();
                    if (!reload.Wait(Bound))
                    {
                        Interlocked.Increment(ref failures);
                        errors.Enqueue("a reload did not end");
                    }

                    // The handlers run on the loading thread before the reload's task completes: the generation this
                    // thread's reload (or the follow-up it joined) swapped in must have reached this handler.
                    long mine = reload.Result.Generation;
                    if (!seen.Contains(mine))
                    {
                        Interlocked.Increment(ref failures);
                        errors.Enqueue($"a handler subscribed before its reload did not see it (g{mine}, saw {string.Join(",", seen)})");
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    errors.Enqueue(ex.ToString());
                }
                finally
                {
                    cache.Reloaded -= handler;
                }
            }
        })
        { IsBackground = true })];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Bound));
        }

        Volatile.Write(ref allRemoved, true);
        await cache.ReloadAsync().WaitAsync(Bound);
        Assert.True(failures == 0, $"{failures} failures: " + string.Join(Environment.NewLine, errors.Take(3)));
        Assert.Equal(0, late);
    }

    /// <summary>A factory that builds a model with new content each time (every reload swaps a new generation in).</summary>
    private sealed class FreshFactory : IModelFactory<FakeModel>
    {
        private int _calls;

        public string Description => "factory:fresh";

        public ValueTask<FakeModel> CreateAsync(CancellationToken cancellationToken) =>
            ValueTask.FromResult(new FakeModel($"fresh-{Interlocked.Increment(ref _calls)}"));

        public Microsoft.Extensions.Primitives.IChangeToken? GetChangeToken() => null;
    }
}
