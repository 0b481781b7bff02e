using System.Collections.Concurrent;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// Attacks on the runner made at a request and dropped when idle (73bda2c, issue 18): bursts of synchronous callers on a
/// cold model, disposal from two threads racing the first load, reloads, rollbacks, invalidations, source changes and
/// timers racing the drop and each other. Real threads, failure counts that must be zero, single flight counted.
/// </summary>
[Collection(nameof(AbandonedThreadTests))]
public sealed class LoadRunnerDropAttackTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // a bound for a loaded machine, not a wait

    // Runs body on real threads released together by a barrier, and joins them within the bound.
    private static void OnThreads(int threads, Action<int> body)
    {
        using var barrier = new Barrier(threads);
        Thread[] workers = [.. Enumerable.Range(0, threads).Select(i => new Thread(() =>
        {
            barrier.SignalAndWait(Bound);
            body(i);
        })
        { IsBackground = true })];
        foreach (Thread worker in workers)
        {
            worker.Start();
        }

        foreach (Thread worker in workers)
        {
            Assert.True(worker.Join(Bound), "a worker thread did not end within the bound");
        }
    }

    [Fact]
    public void A_burst_of_synchronous_callers_on_a_cold_model_runs_one_load_and_all_get_its_model()
    {
        const int Rounds = 100;
        const int Threads = 8;
        int failures = 0;
        var errors = new ConcurrentQueue<string>();
        for (int round = 0; round < Rounds; round++)
        {
            var factory = new CountingFactory { SpinIterations = 20_000 };
            using var cache = new ModelCache<FakeModel>("cold", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero }, new FakeTimeProvider());
            var seen = new ConcurrentBag<FakeModel>();
            OnThreads(Threads, i =>
            {
                try
                {
                    switch (i % 4)
                    {
                        case 0:
                            seen.Add(cache.GetModel());
                            break;
                        case 1:
                            using (ModelLease<FakeModel> lease = cache.Acquire())
                            {
                                seen.Add(lease.Model);
                            }

                            break;
                        case 2:
                            seen.Add(cache.GetModelAsync().AsTask().GetAwaiter().GetResult());
                            break;
                        default:
                            using (ModelLease<FakeModel> lease = cache.AcquireAsync().AsTask().GetAwaiter().GetResult())
                            {
                                seen.Add(lease.Model);
                            }

                            break;
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    errors.Enqueue(ex.ToString());
                }
            });

            if (factory.Calls != 1 || seen.Distinct().Count() != 1 || seen.Count != Threads)
            {
                Interlocked.Increment(ref failures);
                errors.Enqueue($"round {round}: {factory.Calls} loads, {seen.Distinct().Count()} distinct models, {seen.Count} answers");
            }

            if (!SpinWait.SpinUntil(() => LoadRunner<FakeModel>.Current(cache) is null, Bound))
            {
                Interlocked.Increment(ref failures);
                errors.Enqueue($"round {round}: the runner was kept after the load");
            }
        }

        Assert.True(failures == 0, string.Join(Environment.NewLine, errors.Take(5)));
    }

    [Fact]
    public void A_burst_of_synchronous_callers_on_a_cold_model_whose_load_fails_runs_one_load_and_all_get_a_load_failure()
    {
        const int Rounds = 100;
        const int Threads = 8;
        int failures = 0;
        var errors = new ConcurrentQueue<string>();
        for (int round = 0; round < Rounds; round++)
        {
            var factory = new CountingFactory { SpinIterations = 20_000, FailWith = new InvalidDataException("broken") };
            using var cache = new ModelCache<FakeModel>("cold-bad", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero, FailureCooldown = TimeSpan.FromMinutes(1) }, new FakeTimeProvider());
            int loadFailures = 0;
            OnThreads(Threads, i =>
            {
                try
                {
                    if (i % 2 == 0)
                    {
                        _ = cache.GetModel();
                    }
                    else
                    {
                        using ModelLease<FakeModel> lease = cache.Acquire();
                    }

                    Interlocked.Increment(ref failures);
                    errors.Enqueue($"round {round}: a caller got a model from a failing load");
                }
                catch (ModelLoadException)
                {
                    Interlocked.Increment(ref loadFailures);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    errors.Enqueue(ex.ToString());
                }
            });

            // Fake time does not move: the cool-down holds, so the callers that came after the failure are answered from it.
            if (factory.Calls != 1 || loadFailures != Threads || cache.State != ModelCacheState.Failed)
            {
                Interlocked.Increment(ref failures);
                errors.Enqueue($"round {round}: {factory.Calls} loads, {loadFailures} load failures, state {cache.State}");
            }
        }

        Assert.True(failures == 0, string.Join(Environment.NewLine, errors.Take(5)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DisposeAsync_racing_a_first_load_returns_only_after_the_loader_ended_and_its_model_was_disposed(bool alsoDispose)
    {
        // The loader ends within milliseconds (it spins, as a step busy in native code does): DisposeAsync's wait (5 s)
        // covers it. Once DisposeAsync returns, no loader may still run and every model built must be disposed (its
        // documented contract: "waits ... for the loads in progress to end, so that their models are disposed too").
        // alsoDispose: a synchronous Dispose on a third thread at once (it does not wait; DisposeAsync still must).
        const int Rounds = 300;
        int failures = 0;
        var errors = new ConcurrentQueue<string>();
        for (int round = 0; round < Rounds; round++)
        {
            var factory = new CountingFactory { SpinIterations = 20_000 };
            var cache = new ModelCache<FakeModel>("dispose-race", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero }, new FakeTimeProvider());
            int running = -1;
            int notDisposed = -1;
            OnThreads(alsoDispose ? 3 : 2, i =>
            {
                try
                {
                    if (i == 0)
                    {
                        using ModelLease<FakeModel> lease = cache.Acquire();
                        if (lease.Model.IsDisposed)
                        {
                            Interlocked.Increment(ref failures);
                            errors.Enqueue($"round {round}: a lease on a disposed model");
                        }
                    }
                    else if (i == 1)
                    {
                        if (!cache.DisposeAsync().AsTask().Wait(Bound))
                        {
                            Interlocked.Increment(ref failures);
                            errors.Enqueue($"round {round}: DisposeAsync did not return");
                        }

                        running = factory.Running;
                        notDisposed = factory.Made.Count(static model => !model.IsDisposed);
                    }
                    else
                    {
                        cache.Dispose();
                    }
                }
                catch (Exception ex) when (ex is ObjectDisposedException or ModelLoadException)
                {
                    // The caller lost the race to disposal: documented answers.
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    errors.Enqueue(ex.ToString());
                }
            });

            if (running != 0 || notDisposed != 0)
            {
                Interlocked.Increment(ref failures);
                errors.Enqueue($"round {round}: after DisposeAsync returned, {running} loader calls still ran and {notDisposed} models built were not disposed");
            }

            if (!SpinWait.SpinUntil(() => factory.Running == 0 && factory.Made.All(static model => model.IsDisposed), Bound))
            {
                Interlocked.Increment(ref failures);
                errors.Enqueue($"round {round}: a model built was never disposed");
            }

            if (factory.Overlaps != 0)
            {
                Interlocked.Increment(ref failures);
                errors.Enqueue($"round {round}: two loads at once");
            }
        }

        Assert.True(failures == 0, $"{failures} failures: " + string.Join(Environment.NewLine, errors.Take(5)));
    }

    [Fact]
    public async Task Reloads_rollbacks_invalidations_changes_and_timers_racing_the_drop_keep_single_flight_and_never_lease_a_disposed_model()
    {
        const int Threads = 6;
        const int Rounds = 250;
        var time = new FakeTimeProvider();
        var factory = new CountingFactory { SpinIterations = 2_000, Watched = true };
        await using var cache = new ModelCache<FakeModel>(
            "chaos",
            new ModelOptions<FakeModel>
            {
                Factory = factory,
                DrainDelay = TimeSpan.Zero,
                RollbackRetention = ModelRollbackRetention.Generation,
                Policy = ModelLoadPolicy.Expiring,
                TimeToLive = TimeSpan.FromMinutes(10),
                IdleTimeout = TimeSpan.FromMinutes(3),
                LoadTimeout = Timeout.InfiniteTimeSpan, // fake time jumps minutes while a load runs: no timeout is meant here
            },
            time);
        int failures = 0;
        var errors = new ConcurrentQueue<string>();
        OnThreads(Threads, t =>
        {
            var random = new Random(t);
            for (int i = 0; i < Rounds; i++)
            {
                try
                {
                    switch (random.Next(8))
                    {
                        case 0:
                            cache.Invalidate();
                            break;
                        case 1:
                            if (!cache.ReloadAsync().Wait(Bound))
                            {
                                Interlocked.Increment(ref failures);
                                errors.Enqueue("a reload did not end within the bound");
                            }

                            break;
                        case 2:
                            try
                            {
                                if (!cache.RollbackAsync().Wait(Bound))
                                {
                                    Interlocked.Increment(ref failures);
                                    errors.Enqueue("a rollback did not end within the bound");
                                }
                            }
                            catch (AggregateException ex) when (ex.InnerException is InvalidOperationException)
                            {
                                // Nothing to roll back to (just invalidated, or rolled back already): documented.
                            }

                            break;
                        case 3:
                            factory.Change();
                            break;
                        case 4:
                            time.Advance(TimeSpan.FromMinutes(random.Next(1, 12)));
                            break;
                        default:
                            using (ModelLease<FakeModel> lease = random.Next(2) == 0 ? cache.Acquire() : cache.AcquireAsync().AsTask().GetAwaiter().GetResult())
                            {
                                if (lease.Model.IsDisposed)
                                {
                                    Interlocked.Increment(ref failures);
                                    errors.Enqueue($"a lease on a disposed model {lease.Model.Content}");
                                }

                                Thread.SpinWait(200);
                                if (lease.Model.IsDisposed)
                                {
                                    Interlocked.Increment(ref failures);
                                    errors.Enqueue($"a model disposed under its lease {lease.Model.Content}");
                                }
                            }

                            break;
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    errors.Enqueue(ex.ToString());
                }
            }
        });

        Assert.True(SpinWait.SpinUntil(() => LoadRunner<FakeModel>.Current(cache) is null, Bound), "the runner was kept once the loads ended");
        Assert.True(failures == 0, $"{failures} failures: " + string.Join(Environment.NewLine, errors.Take(5)));
        Assert.Equal(0, factory.Overlaps);
        Assert.True(factory.Calls > Rounds, $"only {factory.Calls} loads: the threads did not race the drop");
    }

    [Fact]
    public async Task A_hung_loader_past_its_timeout_then_Dispose_from_two_threads_returns_within_the_bound_and_the_model_is_disposed_when_it_ends()
    {
        var time = new FakeTimeProvider();
        var factory = new CountingFactory { Gated = true };
        var cache = new ModelCache<FakeModel>("hung", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero, LoadTimeout = TimeSpan.FromSeconds(10) }, time);

        Task<FakeModel> first = cache.GetModelAsync().AsTask();
        Assert.True(factory.Started.Wait(Bound));
        time.Advance(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<ModelLoadException>(() => first.WaitAsync(Bound));

        int failures = 0;
        var errors = new ConcurrentQueue<string>();
        OnThreads(2, i =>
        {
            try
            {
                if (i == 0)
                {
                    cache.Dispose();
                }
                else if (!cache.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10)))
                {
                    // DisposeAsync waits 5 s at most for a thread that ignores its token.
                    Interlocked.Increment(ref failures);
                    errors.Enqueue("DisposeAsync did not return within its bound");
                }
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref failures);
                errors.Enqueue(ex.ToString());
            }
        });

        Assert.True(failures == 0, string.Join(Environment.NewLine, errors));
        Assert.Throws<ObjectDisposedException>(() => cache.GetModel());
        factory.Release();
        Assert.True(SpinWait.SpinUntil(() => factory.Running == 0, Bound));
        Assert.True(SpinWait.SpinUntil(() => factory.Made.All(static model => model.IsDisposed), Bound), "the hung load's model was never disposed");
        Assert.Equal(1, factory.Calls);
    }

    /// <summary>A factory that counts its calls and the calls running at once, can spin, block (ignoring its token), fail, and change.</summary>
    private sealed class CountingFactory : IModelFactory<FakeModel>
    {
        private readonly SemaphoreSlim _gate = new(0);
        private CancellationTokenSource _changes = new();
        private int _calls;
        private int _running;
        private int _overlaps;

        public int SpinIterations { get; init; }

        public bool Gated { get; init; }

        public bool Watched { get; init; }

        public Exception? FailWith { get; init; }

        public ManualResetEventSlim Started { get; } = new();

        public ConcurrentQueue<FakeModel> Made { get; } = new();

        public int Calls => Volatile.Read(ref _calls);

        public int Running => Volatile.Read(ref _running);

        public int Overlaps => Volatile.Read(ref _overlaps);

        public string Description => "factory:counting";

        public ValueTask<FakeModel> CreateAsync(CancellationToken cancellationToken)
        {
            int call = Interlocked.Increment(ref _calls);
            if (Interlocked.Increment(ref _running) > 1)
            {
                Interlocked.Increment(ref _overlaps);
            }

            try
            {
                Started.Set();
                if (Gated)
                {
                    _gate.Wait(Bound); // ignores its token, like a hung loader
                }

                Thread.SpinWait(SpinIterations);
                if (FailWith is { } failure)
                {
                    throw failure;
                }

                // A distinct content each time, so every load swaps a new generation in.
                var model = new FakeModel($"built-{call}");
                Made.Enqueue(model);
                return ValueTask.FromResult(model);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        public IChangeToken? GetChangeToken() => Watched ? new CancellationChangeToken(Volatile.Read(ref _changes).Token) : null;

        public void Release() => _gate.Release();

        public void Change() => Interlocked.Exchange(ref _changes, new CancellationTokenSource()).Cancel();
    }
}
