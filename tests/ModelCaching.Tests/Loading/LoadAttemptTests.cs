using Microsoft.Extensions.Time.Testing;
using ModelCaching.Budget;
using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// <see cref="LoadAttempt{TModel}"/> on its own: its thread, its timeout on a <see cref="FakeTimeProvider"/>, and what an
/// abandoned attempt gives back at once (its load slot, its memory reservation) while its thread is counted until it ends.
/// </summary>
public sealed class LoadAttemptTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30); // a bound for a loaded CI machine, not a wait

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly ManualResetEventSlim _release = new();
    private readonly ManualResetEventSlim _workStarted = new();
    private readonly TaskCompletionSource<Exception> _abandoned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _ended;
    private bool? _finished;

    public void Dispose()
    {
        _release.Set();
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

        attempt.Start();
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
        attempt.Start();
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
        attempt.Start();
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
        attempt.Start();
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
        attempt.Start();
        Assert.True(_workStarted.Wait(Bound));

        clock.Advance(TimeSpan.FromDays(365));
        attempt.AbandonIfOverdue();

        Assert.False(attempt.IsAbandoned);
        _release.Set();
        await attempt.Ended.WaitAsync(Bound);
        Assert.True(_finished);
    }

    [Fact]
    public async Task An_abandoned_attempt_gives_back_its_load_slot_at_the_timeout_and_its_thread_is_counted_until_it_ends()
    {
        var abandonedThreads = new AbandonedLoadThreads(limit: 4);
        var limiter = new ModelLoadLimiter(1, queueTimeout: null, abandonedThreads);
        LoadAttempt<FakeModel> stuck = Create(limiter, work: BlockUntilReleased);
        stuck.Start();
        Assert.True(_workStarted.Wait(Bound));
        _time.Advance(Timeout);
        await _abandoned.Task.WaitAsync(Bound);

        Assert.Equal(0, limiter.Running);
        Assert.Equal(1, abandonedThreads.Count);
        var nextStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        LoadAttempt<FakeModel> next = Create(limiter, work: _ => nextStarted.TrySetResult());
        next.Start();
        await nextStarted.Task.WaitAsync(Bound);
        await next.Ended.WaitAsync(Bound);

        _release.Set();
        await stuck.Ended.WaitAsync(Bound);
        Assert.Equal(0, abandonedThreads.Count);
        Assert.Equal(0, limiter.Running); // the slot was given back once, not again when the thread ended
        Assert.Equal(0, limiter.Queued);
    }

    [Fact]
    public async Task At_the_cap_of_abandoned_threads_an_abandoned_attempt_keeps_its_slot_until_its_thread_ends()
    {
        var abandonedThreads = new AbandonedLoadThreads(limit: 1);
        var limiter = new ModelLoadLimiter(2, queueTimeout: null, abandonedThreads);
        LoadAttempt<FakeModel> stuck = Create(limiter, work: BlockUntilReleased);
        stuck.Start();
        Assert.True(_workStarted.Wait(Bound));
        Assert.True(abandonedThreads.TryAdd()); // meanwhile another model's hung thread fills the cap

        _time.Advance(Timeout);
        await _abandoned.Task.WaitAsync(Bound);

        Assert.Equal(1, limiter.Running);
        Assert.Equal(1, abandonedThreads.Count);
        _release.Set();
        await stuck.Ended.WaitAsync(Bound);
        Assert.Equal(0, limiter.Running);
        Assert.Equal(1, abandonedThreads.Count); // only the other model's thread
    }

    [Fact]
    public async Task An_attempt_at_the_cap_of_abandoned_threads_is_refused_without_a_thread_and_hands_its_slot_on()
    {
        var abandonedThreads = new AbandonedLoadThreads(limit: 1);
        Assert.True(abandonedThreads.TryAdd());
        var limiter = new ModelLoadLimiter(1, queueTimeout: null, abandonedThreads);
        int runs = 0;
        LoadAttempt<FakeModel> attempt = Create(limiter, work: _ => runs++);

        attempt.Start();

        var cause = Assert.IsType<InvalidOperationException>(await _abandoned.Task.WaitAsync(Bound));
        Assert.Contains("the cap of 1", cause.Message, StringComparison.Ordinal);
        Assert.True(attempt.Refused);
        Assert.True(attempt.NeverStarted);
        Assert.True(attempt.Ended.IsCompleted);
        Assert.Equal(0, runs);
        Assert.Equal(0, limiter.Running);
        Assert.Equal(0, _ended);
    }

    [Fact]
    public async Task An_abandoned_attempt_gives_back_the_memory_it_reserved_at_the_timeout_and_only_once()
    {
        var budget = new MemoryBudget("test", 100);
        BudgetMember member = budget.Join(new Unevictable("stuck"));
        MemoryBudget.Reservation? leftToTheThread = null;
        LoadAttempt<FakeModel> attempt = Create(ModelLoadLimiter.Unlimited, work: a =>
        {
            a.HoldReservation(budget, budget.Reserve(member, 60, a.CancellationToken, progress: null));
            BlockUntilReleased(a);
            leftToTheThread = a.TakeReservation();
        });
        attempt.Start();
        Assert.True(_workStarted.Wait(Bound));
        Assert.Equal(60, budget.Snapshot().Reserved);

        _time.Advance(Timeout);
        await _abandoned.Task.WaitAsync(Bound);

        Assert.Equal(0, budget.Snapshot().Reserved);
        _release.Set();
        await attempt.Ended.WaitAsync(Bound);
        Assert.Null(leftToTheThread);
        Assert.Equal(0, budget.Snapshot().Reserved);
    }

    [Fact]
    public async Task A_reservation_granted_after_the_attempt_was_abandoned_is_given_back_at_once()
    {
        var budget = new MemoryBudget("test", 100);
        BudgetMember member = budget.Join(new Unevictable("late"));
        var held = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        LoadAttempt<FakeModel> attempt = Create(ModelLoadLimiter.Unlimited, work: a =>
        {
            BlockUntilReleased(a);

            // The budget granted the memory just as the timeout fired.
            MemoryBudget.Reservation reservation = budget.Reserve(member, 60, CancellationToken.None, progress: null);
            try
            {
                a.HoldReservation(budget, reservation);
                held.TrySetResult(null);
            }
            catch (OperationCanceledException ex)
            {
                held.TrySetResult(ex);
            }
        });
        attempt.Start();
        Assert.True(_workStarted.Wait(Bound));
        _time.Advance(Timeout);
        await _abandoned.Task.WaitAsync(Bound);

        _release.Set();

        Assert.IsType<OperationCanceledException>(await held.Task.WaitAsync(Bound));
        await attempt.Ended.WaitAsync(Bound);
        Assert.Equal(0, budget.Snapshot().Reserved);
    }

    [Fact]
    public async Task A_timeout_racing_the_end_of_the_work_gives_back_the_slot_the_reservation_and_the_count_exactly_once()
    {
        var abandonedThreads = new AbandonedLoadThreads(limit: 4);
        var limiter = new ModelLoadLimiter(1, queueTimeout: null, abandonedThreads);
        var budget = new MemoryBudget("test", 100);
        BudgetMember member = budget.Join(new Unevictable("racing"));
        int failures = 0;
        for (int i = 0; i < 200; i++)
        {
            using var go = new ManualResetEventSlim();
            using var reserved = new ManualResetEventSlim();
            LoadAttempt<FakeModel> attempt = Create(limiter, work: a =>
            {
                try
                {
                    a.HoldReservation(budget, budget.Reserve(member, 10, CancellationToken.None, progress: null));
                    reserved.Set();
                    go.Wait(Bound);
                    bool finished = a.TryBeginFinish();
                    if (a.TakeReservation() is { } mine)
                    {
                        // Only the attempt that finished may still hold it (a real load charges it here).
                        if (!finished)
                        {
                            Interlocked.Increment(ref failures);
                        }

                        budget.Cancel(mine);
                    }
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            });
            attempt.Start();
            Assert.True(reserved.Wait(Bound));

            // The timeout fires a varying while after the work is let go, so that both orders and their overlap are tried.
            int spins = i * 500;
            go.Set();
            Task timeout = Task.Run(() =>
            {
                Thread.SpinWait(spins);
                _time.Advance(Timeout);
            });
            await timeout.WaitAsync(Bound);
            await attempt.Ended.WaitAsync(Bound);

            if (limiter.Running != 0 || limiter.Queued != 0 || abandonedThreads.Count != 0 || budget.Snapshot().Reserved != 0)
            {
                failures++;
            }
        }

        Assert.Equal(0, failures); // on the 2-vCPU VM about three in four runs are abandoned, the others finish
    }

    [Fact]
    public async Task Disposal_abandons_the_attempt_with_an_OperationCanceledException()
    {
        LoadAttempt<FakeModel> attempt = Create(ModelLoadLimiter.Unlimited, work: BlockUntilReleased);
        attempt.Start();
        Assert.True(_workStarted.Wait(Bound));

        attempt.AbandonForDisposal();

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
        limiter.Enter(new DelegateSlotWaiter(static () => true));
        int runs = 0;
        LoadAttempt<FakeModel> attempt = Create(limiter, work: _ => runs++);
        attempt.Start();
        Assert.Equal(1, limiter.Queued);

        attempt.AbandonForDisposal();
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
        new DelegateAttemptOwner<FakeModel>(work, (_, cause) => _abandoned.TrySetResult(cause), _ => Interlocked.Increment(ref _ended)));

    /// <summary>A cache as a budget sees it, never evictable.</summary>
    private sealed class Unevictable(string name) : IBudgetedCache
    {
        public string Name { get; } = name;

        public bool Evict() => false;
    }

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
