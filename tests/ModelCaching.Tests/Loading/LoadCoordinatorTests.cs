using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// <see cref="LoadCoordinator{TModel}"/> on its own: single flight, the one follow-up, timed-out attempts whose thread
/// still runs, and closing. Each attempt's work waits until the test lets it go.
/// </summary>
public sealed class LoadCoordinatorTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // a bound for a loaded CI machine, not a wait

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly SemaphoreSlim _started = new(0);
    private readonly SemaphoreSlim _proceed = new(0);
    private readonly ConcurrentQueue<ModelLoadReason> _reasons = new();
    private readonly SemaphoreSlim _retryDue = new(0);
    private readonly LoadCoordinator<FakeModel> _coordinator;
    private int _runs;
    private int _starting;
    private int _retriesDue;
    private ModelLoadException? _timedOut;
    private bool _waitersAnsweredBeforeOnTimedOut;
    private Task<ModelGeneration<FakeModel>>? _watched;
    private Exception? _failNext;

    public LoadCoordinatorTests()
    {
        _coordinator = new LoadCoordinator<FakeModel>(
            new DelegateLoadHost<FakeModel>(
                Run,
                () => Interlocked.Increment(ref _starting),
                (_, failure) =>
                {
                    _waitersAnsweredBeforeOnTimedOut = _watched?.IsCompleted == true;
                    _timedOut = failure;
                },
                () =>
                {
                    Interlocked.Increment(ref _retriesDue);
                    _retryDue.Release();
                })
            {
                TimeProvider = _time,
                LoadTimeout = Timeout,
            });
    }

    public void Dispose()
    {
        _coordinator.Close();
        _proceed.Release(100);
        _coordinator.AbandonAll();
    }

    [Fact]
    public async Task Requests_during_an_attempt_join_it()
    {
        Task<ModelGeneration<FakeModel>> first = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();

        Task<ModelGeneration<FakeModel>> second = _coordinator.Request(ModelLoadReason.FirstUse);
        Task<ModelGeneration<FakeModel>> third = _coordinator.Request(ModelLoadReason.Startup);
        Task<ModelGeneration<FakeModel>> fourth = _coordinator.Request(ModelLoadReason.RefreshAhead);

        Assert.True(_coordinator.IsLoading);
        Assert.Same(first, second);
        Assert.Same(first, third);
        Assert.Same(first, fourth);

        _proceed.Release();
        ModelGeneration<FakeModel> generation = await first.WaitAsync(Bound);

        Assert.Equal(1, generation.Version.Generation);
        Assert.Equal(1, _runs);
        Assert.Equal(1, _starting);
        Assert.False(_coordinator.IsLoading);
    }

    [Fact]
    public async Task AbandonAll_abandons_the_attempt_in_progress_its_waiters_get_an_ObjectDisposedException_at_once()
    {
        Task<ModelGeneration<FakeModel>> load = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();
        LoadAttempt<FakeModel> attempt = _coordinator.Inflight!;

        _coordinator.Close();
        _coordinator.AbandonAll();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => load.WaitAsync(Bound));
        Assert.True(attempt.IsAbandoned);
        Assert.True(attempt.CancellationToken.IsCancellationRequested);
        Assert.False(_coordinator.IsLoading);

        // Its thread still runs until its step lets go; disposal waits for that through the attempt's Ended.
        Assert.False(attempt.Ended.IsCompleted);
        _proceed.Release();
        await attempt.Ended.WaitAsync(Bound);
    }

    [Fact]
    public async Task An_attempt_that_starts_after_AbandonAll_is_abandoned_before_it_runs()
    {
        _coordinator.AbandonAll();

        Task<ModelGeneration<FakeModel>> load = _coordinator.Request(ModelLoadReason.FirstUse);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => load.WaitAsync(Bound));
        Assert.Equal(0, _runs);
        Assert.False(_coordinator.IsLoading);
    }

    [Fact]
    public async Task Concurrent_first_requests_from_every_core_share_one_attempt()
    {
        int threads = Math.Max(4, Environment.ProcessorCount * 2);
        var tasks = new Task<ModelGeneration<FakeModel>>[threads];
        using var barrier = new Barrier(threads);

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
        {
            barrier.SignalAndWait(Bound);
            tasks[i] = _coordinator.Request(ModelLoadReason.FirstUse);
        });

        await WaitStartedAsync();
        _proceed.Release();
        await Task.WhenAll(tasks).WaitAsync(Bound);

        int otherAttempts = tasks.Count(task => !ReferenceEquals(task, tasks[0]));
        Assert.Equal(0, otherAttempts);
        Assert.Equal(1, _runs);
        Assert.Equal(1, _starting);
    }

    [Fact]
    public async Task Changes_retries_and_explicit_reloads_during_an_attempt_queue_exactly_one_follow_up()
    {
        Task<ModelGeneration<FakeModel>> first = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();

        Task<ModelGeneration<FakeModel>> followUp = _coordinator.Request(ModelLoadReason.SourceChanged);
        Task<ModelGeneration<FakeModel>>[] more =
        [
            _coordinator.Request(ModelLoadReason.SourceChanged),
            _coordinator.Request(ModelLoadReason.Retry),
            _coordinator.Request(ModelLoadReason.Explicit),
        ];
        Task<ModelGeneration<FakeModel>> joining = _coordinator.Request(ModelLoadReason.FirstUse);

        Assert.NotSame(first, followUp);
        Assert.All(more, task => Assert.Same(followUp, task));
        Assert.Same(first, joining);

        _proceed.Release();
        Assert.Equal(1, (await first.WaitAsync(Bound)).Version.Generation);
        await WaitStartedAsync();
        Assert.False(followUp.IsCompleted);

        _proceed.Release();
        Assert.Equal(2, (await followUp.WaitAsync(Bound)).Version.Generation);
        Assert.Equal(2, _runs);
        Assert.False(_coordinator.IsLoading);
    }

    [Theory]
    [InlineData(new[] { ModelLoadReason.SourceChanged, ModelLoadReason.Explicit, ModelLoadReason.Retry }, ModelLoadReason.Explicit)]
    [InlineData(new[] { ModelLoadReason.Explicit, ModelLoadReason.SourceChanged }, ModelLoadReason.Explicit)]
    [InlineData(new[] { ModelLoadReason.Retry, ModelLoadReason.SourceChanged, ModelLoadReason.Retry }, ModelLoadReason.SourceChanged)]
    [InlineData(new[] { ModelLoadReason.Retry }, ModelLoadReason.Retry)]
    public async Task The_follow_up_keeps_the_strongest_reason_queued_so_an_explicit_reload_keeps_its_meaning(ModelLoadReason[] queued, ModelLoadReason expected)
    {
        Task<ModelGeneration<FakeModel>> first = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();
        Task<ModelGeneration<FakeModel>>? followUp = null;
        foreach (ModelLoadReason reason in queued)
        {
            followUp = _coordinator.Request(reason);
        }

        _proceed.Release();
        await first.WaitAsync(Bound);
        await WaitStartedAsync();
        _proceed.Release();
        await followUp!.WaitAsync(Bound);

        Assert.Equal([ModelLoadReason.FirstUse, expected], _reasons);
    }

    [Fact]
    public async Task A_failed_attempt_answers_its_waiters_with_its_exception_and_the_follow_up_still_runs()
    {
        _failNext = new InvalidDataException("bad bytes");
        Task<ModelGeneration<FakeModel>> first = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();
        Task<ModelGeneration<FakeModel>> retry = _coordinator.Request(ModelLoadReason.Retry);

        _proceed.Release();
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => first.WaitAsync(Bound));
        Assert.Equal("bad bytes", error.Message);

        await WaitStartedAsync();
        _proceed.Release();
        Assert.Equal(2, (await retry.WaitAsync(Bound)).Version.Generation);
    }

    [Fact]
    public async Task A_timed_out_attempt_answers_its_waiters_with_a_ModelLoadException_wrapping_a_TimeoutException()
    {
        Task<ModelGeneration<FakeModel>> first = _watched = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();

        _time.Advance(Timeout);

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => first.WaitAsync(Bound));
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Equal("m", error.ModelName);
        Assert.Equal("memory:test", error.Source);
        Assert.Equal($"the load timed out after {Timeout} while loading", error.Cause);
        Assert.Same(error, _timedOut);
        Assert.False(_waitersAnsweredBeforeOnTimedOut);
        Assert.True(_coordinator.AbandonedRunning);
        Assert.False(_coordinator.IsLoading);
    }

    [Fact]
    public async Task While_a_timed_out_attempt_still_runs_new_requests_are_refused_then_the_waiting_retry_runs_when_it_ends()
    {
        Task<ModelGeneration<FakeModel>> first = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();
        _time.Advance(Timeout);
        await Assert.ThrowsAsync<ModelLoadException>(() => first.WaitAsync(Bound));

        Task<ModelGeneration<FakeModel>> refused = _coordinator.Request(ModelLoadReason.Retry);

        Assert.True(refused.IsFaulted);
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => refused);
        string expected = $"an earlier load attempt timed out after {Timeout} while loading and has not ended yet (that step ignores cancellation); the next attempt starts when it ends";
        Assert.Equal(expected, error.Cause);
        Assert.Equal(error.Message, _coordinator.AbandonedMessage());
        Assert.Equal(1, _runs);
        Assert.Equal(0, _retriesDue);

        _proceed.Release();

        Assert.True(await _retryDue.WaitAsync(Bound));
        Assert.Equal(1, _retriesDue);
        Assert.False(_coordinator.AbandonedRunning);
        Assert.Null(_coordinator.AbandonedMessage());

        Task<ModelGeneration<FakeModel>> retry = _coordinator.Request(ModelLoadReason.Retry);
        await WaitStartedAsync();
        _proceed.Release();
        Assert.Equal(2, (await retry.WaitAsync(Bound)).Version.Generation);
        Assert.Equal([ModelLoadReason.FirstUse, ModelLoadReason.Retry], _reasons);
    }

    [Fact]
    public async Task A_follow_up_queued_behind_a_timed_out_attempt_gets_its_failure_and_a_load_once_the_thread_ends()
    {
        Task<ModelGeneration<FakeModel>> first = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();
        Task<ModelGeneration<FakeModel>> followUp = _coordinator.Request(ModelLoadReason.SourceChanged);

        _time.Advance(Timeout);

        var firstError = await Assert.ThrowsAsync<ModelLoadException>(() => first.WaitAsync(Bound));
        var followUpError = await Assert.ThrowsAsync<ModelLoadException>(() => followUp.WaitAsync(Bound));
        Assert.Same(firstError, followUpError);

        _proceed.Release();
        Assert.True(await _retryDue.WaitAsync(Bound));
        Assert.Equal(1, _runs);
    }

    [Fact]
    public async Task A_timed_out_attempt_that_ends_with_no_load_waiting_asks_for_no_retry()
    {
        Task<ModelGeneration<FakeModel>> first = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();
        _time.Advance(Timeout);
        await Assert.ThrowsAsync<ModelLoadException>(() => first.WaitAsync(Bound));
        LoadAttempt<FakeModel> stuck = _coordinator.Snapshot().Abandoned!;

        _proceed.Release();
        await stuck.Ended.WaitAsync(Bound);

        Assert.Equal(0, _retriesDue);
        Assert.False(_coordinator.AbandonedRunning);
    }

    [Fact]
    public async Task Close_fails_the_queued_follow_up_and_lets_the_attempt_in_progress_finish()
    {
        Task<ModelGeneration<FakeModel>> first = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();
        Task<ModelGeneration<FakeModel>> followUp = _coordinator.Request(ModelLoadReason.SourceChanged);

        _coordinator.Close();

        var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => followUp.WaitAsync(Bound));
        Assert.Equal("The model cache 'm' was disposed.", error.Message.Split(Environment.NewLine)[0]);
        _proceed.Release();
        Assert.Equal(1, (await first.WaitAsync(Bound)).Version.Generation);
        Assert.Equal(1, _runs);
    }

    [Fact]
    public async Task StartWith_during_an_attempt_returns_that_attempt_to_wait_for_first()
    {
        Task<ModelGeneration<FakeModel>> first = _coordinator.Request(ModelLoadReason.FirstUse);
        await WaitStartedAsync();

        Task<ModelGeneration<FakeModel>> rollback = _coordinator.StartWith(new ModelArtifact(new byte[] { 1 }, "memory:test"), ModelLoadReason.Rollback, out bool started);

        Assert.False(started);
        Assert.Same(first, rollback);
        _proceed.Release();
        await first.WaitAsync(Bound);
    }

    [Fact]
    public async Task StartWith_when_idle_starts_an_attempt_that_carries_the_artifact()
    {
        var artifact = new ModelArtifact(new byte[] { 1 }, "memory:test");

        Task<ModelGeneration<FakeModel>> rollback = _coordinator.StartWith(artifact, ModelLoadReason.Rollback, out bool started);
        LoadAttempt<FakeModel> attempt = _coordinator.Inflight!;
        await WaitStartedAsync();
        _proceed.Release();
        await rollback.WaitAsync(Bound);

        Assert.True(started);
        Assert.Same(artifact, attempt.Artifact);
        Assert.Equal([ModelLoadReason.Rollback], _reasons);
    }

    private ModelGeneration<FakeModel> Run(LoadAttempt<FakeModel> attempt)
    {
        int run = Interlocked.Increment(ref _runs);
        _reasons.Enqueue(attempt.Reason);
        attempt.Step = "loading";
        _started.Release();
        if (!_proceed.Wait(Bound))
        {
            throw new TimeoutException("the test never let the attempt go");
        }

        if (Interlocked.Exchange(ref _failNext, null) is { } failure)
        {
            throw failure;
        }

        var version = new ModelVersion($"g{run}", run, "memory:test", DateTimeOffset.UnixEpoch, 0);
        return new ModelGeneration<FakeModel>("m", new FakeModel($"v{run}"), version, null, NullLogger.Instance);
    }

    private async Task WaitStartedAsync() => Assert.True(await _started.WaitAsync(Bound), "an attempt should have started");
}
