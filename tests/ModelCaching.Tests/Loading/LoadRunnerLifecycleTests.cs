using System.Collections.Concurrent;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// Issue 18, what a known name costs: a cache holds a <see cref="LoadRunner{TModel}"/> (and its coordinator) only while a
/// load runs, is queued or waits for an abandoned thread; it is made by the first request that wants a load and dropped
/// when it goes idle. Single flight, disposal and abandoned attempts hold across the drop, under real threads.
/// </summary>
[Collection(nameof(AbandonedThreadTests))]
public sealed class LoadRunnerLifecycleTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // a bound for a loaded CI machine, not a wait

    [Fact]
    public async Task A_serving_model_with_no_load_running_holds_no_runner_after_a_load_a_reload_a_failure_or_a_retry()
    {
        var time = new FakeTimeProvider();
        var factory = new GatedFactory();
        await using var cache = new ModelCache<FakeModel>("idle", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero }, time);
        Assert.Null(LoadRunner<FakeModel>.Current(cache));

        _ = cache.GetModel();
        Assert.Null(LoadRunner<FakeModel>.Current(cache));

        await cache.ReloadAsync().WaitAsync(Bound);
        Assert.Null(LoadRunner<FakeModel>.Current(cache));

        factory.FailWith = new InvalidOperationException("broken");
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync().WaitAsync(Bound));
        Assert.Null(LoadRunner<FakeModel>.Current(cache));
        Assert.Equal("built-2", cache.GetModel().Content); // the last good model serves on

        // The retry (a timer) and the next miss each make a runner for their load, and drop it after.
        factory.FailWith = null;
        time.Advance(TimeSpan.FromHours(1));
        await cache.ReloadAsync().WaitAsync(Bound);
        Assert.Null(LoadRunner<FakeModel>.Current(cache));
        cache.Invalidate();
        Assert.Equal($"built-{factory.Builds + 1}", (await cache.GetModelAsync()).Content);
        Assert.Null(LoadRunner<FakeModel>.Current(cache));
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }

    [Fact]
    public async Task The_runner_lives_while_a_load_runs_and_while_an_abandoned_thread_runs_then_is_dropped()
    {
        var time = new FakeTimeProvider();
        var factory = new GatedFactory { Gated = true };
        await using var cache = new ModelCache<FakeModel>("hung", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero, LoadTimeout = TimeSpan.FromSeconds(10) }, time);

        Task<FakeModel> first = cache.GetModelAsync().AsTask();
        Assert.True(factory.Started.Wait(Bound));
        LoadRunner<FakeModel>? runner = LoadRunner<FakeModel>.Current(cache);
        Assert.NotNull(runner);
        Assert.True(runner.Coordinator.IsLoading);

        // The load times out while its step ignores its token: the runner stays (its thread blocks new attempts).
        time.Advance(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<ModelLoadException>(() => first.WaitAsync(Bound));
        Assert.Same(runner, LoadRunner<FakeModel>.Current(cache));
        Assert.True(runner.Coordinator.AbandonedRunning);

        // A request meanwhile is answered at once and loads once the thread ends (the retry), on a new runner.
        time.Advance(TimeSpan.FromMinutes(5)); // past the failure's cool-down
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.GetModelAsync().AsTask().WaitAsync(Bound));
        factory.Gated = false;
        factory.Release();
        Assert.True(SpinWait.SpinUntil(() => cache.State == ModelCacheState.Ready && LoadRunner<FakeModel>.Current(cache) is null, Bound));
        Assert.True(runner.Coordinator.IsDetached);
        Assert.Equal("built-2", cache.GetModel().Content);
    }

    [Fact]
    public async Task Misses_and_reloads_racing_the_drop_never_run_two_loads_at_once_nor_serve_a_disposed_model()
    {
        const int Threads = 4;
        const int Rounds = 300;
        var factory = new GatedFactory { Spin = true };
        await using var cache = new ModelCache<FakeModel>("racy", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero }, new FakeTimeProvider());
        int failures = 0;
        var errors = new ConcurrentQueue<Exception>();
        using var start = new Barrier(Threads);
        Thread[] threads = [.. Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < Rounds; i++)
            {
                try
                {
                    switch ((i + t) % 4)
                    {
                        case 0:
                            cache.Invalidate();
                            break;
                        case 1:
                            using (ModelLease<FakeModel> lease = cache.Acquire())
                            {
                                if (lease.Model.IsDisposed)
                                {
                                    Interlocked.Increment(ref failures);
                                }
                            }

                            break;
                        case 2:
                            if (!cache.ReloadAsync().Wait(Bound))
                            {
                                Interlocked.Increment(ref failures);
                            }

                            break;
                        default:
                            using (ModelLease<FakeModel> lease = cache.AcquireAsync().AsTask().Result)
                            {
                                if (lease.Model.IsDisposed)
                                {
                                    Interlocked.Increment(ref failures);
                                }
                            }

                            break;
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    errors.Enqueue(ex);
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

        Assert.True(SpinWait.SpinUntil(() => LoadRunner<FakeModel>.Current(cache) is null, Bound));
        Assert.Equal(0, failures);
        Assert.Empty(errors);
        Assert.Equal(0, factory.Overlaps); // single flight held across every drop
        Assert.True(factory.Builds > Rounds, $"only {factory.Builds} loads ran: the threads did not race the drop");
    }

    [Fact]
    public async Task Dispose_racing_a_first_load_answers_every_caller_and_disposes_every_model_it_built()
    {
        const int Rounds = 200;
        int failures = 0;
        var errors = new ConcurrentQueue<Exception>();
        var factory = new GatedFactory { Spin = true };
        for (int round = 0; round < Rounds; round++)
        {
            var cache = new ModelCache<FakeModel>("disposed", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero }, new FakeTimeProvider());
            using var start = new Barrier(2);
            Task<bool> caller = Task.Factory.StartNew(
                () =>
                {
                    start.SignalAndWait();
                    try
                    {
                        using ModelLease<FakeModel> lease = cache.Acquire();
                        return !lease.Model.IsDisposed;
                    }
                    catch (ObjectDisposedException)
                    {
                        return true;
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            Task disposer = Task.Factory.StartNew(
                () =>
                {
                    start.SignalAndWait();
                    return cache.DisposeAsync().AsTask();
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).Unwrap();
            try
            {
                await disposer.WaitAsync(TimeSpan.FromSeconds(6)); // DisposeAsync waits 5 s at most for load threads
                if (!await caller.WaitAsync(Bound))
                {
                    Interlocked.Increment(ref failures);
                }
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref failures);
                errors.Enqueue(ex);
            }

            // Disposed for good: the closed runner stays, and a later request is refused.
            if (LoadRunner<FakeModel>.Current(cache) is not { Coordinator.IsDetached: false })
            {
                Interlocked.Increment(ref failures);
            }

            if (!SpinWait.SpinUntil(() => factory.Made.All(static model => model.IsDisposed), Bound))
            {
                Interlocked.Increment(ref failures);
            }
        }

        Assert.Equal(0, failures);
        Assert.Empty(errors);
        Assert.Equal(0, factory.Overlaps);
    }

    [Fact]
    public async Task A_source_change_and_a_miss_after_the_drop_load_on_a_new_runner()
    {
        var factory = new GatedFactory { Watched = true };
        await using var cache = new ModelCache<FakeModel>("changed", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero }, new FakeTimeProvider());
        Assert.Equal("built-1", (await cache.GetModelAsync()).Content);
        Assert.Null(LoadRunner<FakeModel>.Current(cache));

        factory.Change();
        Assert.True(SpinWait.SpinUntil(() => cache.Version?.Generation == 2 && LoadRunner<FakeModel>.Current(cache) is null, Bound));
        Assert.Equal("built-2", cache.GetModel().Content);
    }

    [Fact]
    public async Task A_refresh_ahead_timer_loads_on_a_new_runner_and_drops_it_after()
    {
        var time = new FakeTimeProvider();
        var factory = new GatedFactory();
        await using var cache = new ModelCache<FakeModel>("expiring", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero, Policy = ModelLoadPolicy.Expiring, TimeToLive = TimeSpan.FromMinutes(10) }, time);
        Assert.Equal("built-1", (await cache.GetModelAsync()).Content);
        Assert.Null(LoadRunner<FakeModel>.Current(cache));

        for (int refresh = 2; refresh <= 4; refresh++)
        {
            time.Advance(TimeSpan.FromMinutes(10));
            int expected = refresh;
            Assert.True(SpinWait.SpinUntil(() => cache.Version?.Generation == expected && LoadRunner<FakeModel>.Current(cache) is null, Bound), $"refresh {refresh}");
        }

        Assert.Equal("built-4", cache.GetModel().Content);
    }

    [Fact]
    public async Task A_watched_model_keeps_its_subscription_beside_it_and_ends_it_at_disposal()
    {
        var factory = new GatedFactory { Watched = true };
        var cache = new ModelCache<FakeModel>("watched", new ModelOptions<FakeModel> { Factory = factory, DrainDelay = TimeSpan.Zero }, new FakeTimeProvider());
        Assert.Equal("built-1", (await cache.GetModelAsync()).Content);

        await cache.DisposeAsync();
        factory.Change();

        // Nothing loads after disposal: the change token's callback was removed (one would start a load on a runner).
        Assert.Equal(1, factory.Builds);
        Assert.False(factory.HasCallbacks);
    }

    /// <summary>A factory that can block (until released), spin a little, fail, count its builds and catch two at once.</summary>
    private sealed class GatedFactory : IModelFactory<FakeModel>
    {
        private readonly SemaphoreSlim _gate = new(0);
        private CancellationTokenSource _changes = new();
        private int _builds;
        private int _running;
        private int _overlaps;

        public bool Gated { get; set; }

        public bool Spin { get; init; }

        public bool Watched { get; init; }

        public Exception? FailWith { get; set; }

        public ManualResetEventSlim Started { get; } = new();

        public ConcurrentQueue<FakeModel> Made { get; } = new();

        public int Builds => Volatile.Read(ref _builds);

        public int Overlaps => Volatile.Read(ref _overlaps);

        public string Description => "factory:gated";

        public ValueTask<FakeModel> CreateAsync(CancellationToken cancellationToken)
        {
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

                if (Spin)
                {
                    Thread.SpinWait(2_000);
                }

                if (FailWith is { } failure)
                {
                    throw failure;
                }

                var model = new FakeModel($"built-{Interlocked.Increment(ref _builds)}");
                Made.Enqueue(model);
                return ValueTask.FromResult(model);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        public bool HasCallbacks { get; private set; }

        public IChangeToken? GetChangeToken() => Watched ? new RecordingToken(this, Volatile.Read(ref _changes).Token) : null;

        public void Release() => _gate.Release();

        public void Change() => Interlocked.Exchange(ref _changes, new CancellationTokenSource()).Cancel();

        /// <summary>A change token that tells its factory whether a callback is registered on it now.</summary>
        private sealed class RecordingToken(GatedFactory factory, CancellationToken token) : IChangeToken
        {
            private readonly CancellationChangeToken _inner = new(token);

            public bool HasChanged => _inner.HasChanged;

            public bool ActiveChangeCallbacks => true;

            public IDisposable RegisterChangeCallback(Action<object?> callback, object? state)
            {
                IDisposable registration = _inner.RegisterChangeCallback(callback, state);
                factory.HasCallbacks = true;
                return new Unregister(factory, registration);
            }

            private sealed class Unregister(GatedFactory factory, IDisposable registration) : IDisposable
            {
                public void Dispose()
                {
                    factory.HasCallbacks = false;
                    registration.Dispose();
                }
            }
        }
    }
}
