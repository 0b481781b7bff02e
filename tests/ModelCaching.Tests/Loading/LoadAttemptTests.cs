using Microsoft.Extensions.Time.Testing;
using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// <see cref="LoadAttempt{TModel}"/> on its own: its thread, its timeout on a <see cref="FakeTimeProvider"/>, and the load
/// slot an abandoned attempt keeps until its thread really ends.
/// </summary>
public sealed class LoadAttemptTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // a bound for a loaded CI machine, not a wait

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly ManualResetEventSlim _release = new();
    private readonly ManualResetEventSlim _workStarted = new();
    private readonly TaskCompletionSource<Exception> _abandoned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _lifetime = new();
    private int _ended;
    private bool? _finished;

    public void Dispose()
    {
        _release.Set();
        _lifetime.Dispose();
    }

    [Fact]
    public async Task The_work_runs_on_a_thread_of_its_own_and_finishes_when_not_abandoned()
    {
        var limiter = new ModelLoadLimiter(1);
        int testThread = Environment.CurrentManagedThreadId;
        int workThread = testThread;
        LoadAttempt<FakeModel> attempt = Create(limiter, work: a =>
        {
            workThread = Environment.CurrentManagedThreadId;
            _finished = a.TryBeginFinish();
        });

        attempt.Start(_lifetime.Token);
        await attempt.Ended.WaitAsync(Bound);

        Assert.NotEqual(testThread, workThread);
        Assert.True(_finished);
        Assert.False(attempt.IsAbandoned);
        Assert.False(_abandoned.Task.IsCompleted);
        Assert.Equal(1, _ended);
        Assert.Equal(0, limiter.Running);
    }

    [Fact]
    public async Task The_timeout_on_the_time_provider_abandons_the_attempt_and_cancels_its_token()
    {
        LoadAttempt<FakeModel> attempt = Create(ModelLoadLimiter.Unlimited, work: BlockUntilReleased);
        attempt.Start(_lifetime.Token);
        Assert.True(_workStarted.Wait(Bound));

        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(attempt.IsAbandoned);

        _time.Advance(TimeSpan.FromMilliseconds(1));

        Exception cause = await _abandoned.Task.WaitAsync(Bound);
        var timeout = Assert.IsType<TimeoutException>(cause);
        Assert.Equal($"The load did not finish within its timeout of {Timeout} (step: loading).", timeout.Message);
        Assert.True(attempt.IsAbandoned);
        Assert.True(attempt.CancellationToken.IsCancellationRequested);

        _release.Set();
        await attempt.Ended.WaitAsync(Bound);
        Assert.False(_finished);
    }

    [Fact]
    public async Task TryBeginFinish_after_abandonment_is_false()
    {
        LoadAttempt<FakeModel> attempt = Create(ModelLoadLimiter.Unlimited, work: BlockUntilReleased);
        attempt.Start(_lifetime.Token);
        Assert.True(_workStarted.Wait(Bound));

        _time.Advance(Timeout);
        await _abandoned.Task.WaitAsync(Bound);
        _release.Set();
        await attempt.Ended.WaitAsync(Bound);

        Assert.False(_finished);
        Assert.False(attempt.TryBeginFinish());
    }

    [Fact]
    public async Task AbandonIfOverdue_abandons_only_once_the_timeout_has_passed_even_when_no_timer_fires()
    {
        var clock = new ClockWithoutTimers();
        LoadAttempt<FakeModel> attempt = Create(ModelLoadLimiter.Unlimited, work: BlockUntilReleased, timeProvider: clock);
        attempt.Start(_lifetime.Token);
        Assert.True(_workStarted.Wait(Bound));

        clock.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        attempt.AbandonIfOverdue();
        Assert.False(attempt.IsAbandoned);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        attempt.AbandonIfOverdue();

        Assert.True(attempt.IsAbandoned);
        Assert.IsType<TimeoutException>(await _abandoned.Task.WaitAsync(Bound));
        _release.Set();
        await attempt.Ended.WaitAsync(Bound);
    }

    [Fact]
    public async Task AbandonIfOverdue_never_abandons_an_attempt_without_a_timeout()
    {
        var clock = new ClockWithoutTimers();
        LoadAttempt<FakeModel> attempt = Create(ModelLoadLimiter.Unlimited, work: BlockUntilReleased, timeProvider: clock, timeout: System.Threading.Timeout.InfiniteTimeSpan);
        attempt.Start(_lifetime.Token);
        Assert.True(_workStarted.Wait(Bound));

        clock.Advance(TimeSpan.FromDays(365));
        attempt.AbandonIfOverdue();

        Assert.False(attempt.IsAbandoned);
        _release.Set();
        await attempt.Ended.WaitAsync(Bound);
        Assert.True(_finished);
    }

    [Fact]
    public async Task An_abandoned_attempt_holds_its_load_slot_until_its_thread_ends()
    {
        var limiter = new ModelLoadLimiter(1);
        LoadAttempt<FakeModel> stuck = Create(limiter, work: BlockUntilReleased);
        stuck.Start(_lifetime.Token);
        Assert.True(_workStarted.Wait(Bound));
        _time.Advance(Timeout);
        await _abandoned.Task.WaitAsync(Bound);

        var nextStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        LoadAttempt<FakeModel> next = Create(limiter, work: _ => nextStarted.TrySetResult());
        next.Start(_lifetime.Token);

        Assert.Equal(1, limiter.Running);
        Assert.Equal(1, limiter.Queued);
        Assert.False(nextStarted.Task.IsCompleted);

        _release.Set();

        await nextStarted.Task.WaitAsync(Bound);
        await next.Ended.WaitAsync(Bound);
        Assert.Equal(0, limiter.Running);
        Assert.Equal(0, limiter.Queued);
    }

    [Fact]
    public async Task The_end_of_the_cache_lifetime_abandons_the_attempt_with_an_OperationCanceledException()
    {
        LoadAttempt<FakeModel> attempt = Create(ModelLoadLimiter.Unlimited, work: BlockUntilReleased);
        attempt.Start(_lifetime.Token);
        Assert.True(_workStarted.Wait(Bound));

        await _lifetime.CancelAsync();

        var cause = Assert.IsType<OperationCanceledException>(await _abandoned.Task.WaitAsync(Bound));
        Assert.Equal("The model cache was disposed.", cause.Message);
        Assert.True(attempt.CancellationToken.IsCancellationRequested);
        _release.Set();
        await attempt.Ended.WaitAsync(Bound);
        Assert.Equal(1, _ended);
    }

    [Fact]
    public async Task An_attempt_abandoned_while_it_waits_for_a_slot_never_runs_and_hands_the_slot_on()
    {
        var limiter = new ModelLoadLimiter(1);
        limiter.Enter(static () => true);
        int runs = 0;
        LoadAttempt<FakeModel> attempt = Create(limiter, work: _ => runs++);
        attempt.Start(_lifetime.Token);
        Assert.Equal(1, limiter.Queued);

        await _lifetime.CancelAsync();
        Assert.IsType<OperationCanceledException>(await _abandoned.Task.WaitAsync(Bound));

        // It will never run, so it has ended already, before any slot comes (disposal need not wait for one).
        Assert.True(attempt.Ended.IsCompleted);
        limiter.Release();

        Assert.Equal(0, runs);
        Assert.Equal(0, limiter.Running);
        Assert.Equal(0, limiter.Queued);
    }

    private void BlockUntilReleased(LoadAttempt<FakeModel> attempt)
    {
        attempt.Step = "loading";
        _workStarted.Set();

        // Ignores its token on purpose, like a native load that cannot be interrupted.
        if (!_release.Wait(Bound))
        {
            throw new TimeoutException("the test never released the work");
        }

        _finished = attempt.TryBeginFinish();
    }

    private LoadAttempt<FakeModel> Create(ModelLoadLimiter limiter, Action<LoadAttempt<FakeModel>> work, TimeProvider? timeProvider = null, TimeSpan? timeout = null) => new(
        ModelLoadReason.FirstUse,
        artifact: null,
        new TaskCompletionSource<ModelGeneration<FakeModel>>(TaskCreationOptions.RunContinuationsAsynchronously),
        limiter,
        timeProvider ?? _time,
        timeout ?? Timeout,
        work,
        (_, cause) => _abandoned.TrySetResult(cause),
        _ => Interlocked.Increment(ref _ended));

    /// <summary>A clock moved by hand whose timers never fire: a timeout must then come from <see cref="LoadAttempt{TModel}.AbandonIfOverdue"/>.</summary>
    private sealed class ClockWithoutTimers : TimeProvider
    {
        private long _timestamp;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _timestamp);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _timestamp, by.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new NeverTimer();

        private sealed class NeverTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
