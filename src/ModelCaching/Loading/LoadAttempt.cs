using ModelCaching.Budget;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>
/// One attempt to load a model: it waits for a load slot, then runs the whole pipeline (fetch, integrity check,
/// load, validation, warm-up) on a thread of its own, under the load timeout.
/// </summary>
/// <remarks>
/// <para>
/// A dedicated thread rather than the thread pool: synchronous callers of a cold model (<c>GetModel()</c>,
/// <c>Acquire()</c>, a prediction) block pool threads while they wait, and a burst of them can hold every pool thread,
/// so a load queued to the pool would start only after all of them (it did: 1,000 callers, no load after 80 s). Like
/// <see cref="Lazy{T}"/>, which runs its factory on the first caller's thread, the load here never needs a free pool
/// thread as long as its steps complete synchronously (files, ML.NET, ONNX Runtime). A thread costs tens of
/// microseconds to start, nothing beside a model load.
/// </para>
/// <para>
/// The timeout does not depend on the work ending: when it expires (or the cache is disposed) the attempt is
/// abandoned at once and its waiters get the failure, whatever the step does with its token. An abandoned attempt
/// gives back its load slot and its memory reservation at once, so a hung step costs a thread and nothing else; its
/// thread is counted in <see cref="AbandonedLoadThreads"/> until it ends, and its late model is disposed, never served,
/// never charged. When that process-wide cap is reached, an abandoned attempt keeps its slot until its thread ends, and
/// new attempts are refused (<see cref="Refused"/>) instead of starting a thread.
/// </para>
/// </remarks>
internal sealed class LoadAttempt<TModel> : ILoadSlotWaiter, ILoadProgress
    where TModel : class
{
    private const int Queued = 0;
    private const int Running = 1;
    private const int Finishing = 2;
    private const int Abandoned = 3;

    private readonly ModelLoadLimiter _limiter;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _timeout;
    private readonly ILoadAttemptOwner<TModel> _owner;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly LoadAttemptHoldings _holdings;
    private ITimer? _timer;
    private ITimer? _queueTimer;
    private int _phase;
    private volatile bool _hasEnded;
    private volatile string _step = "waiting for a load slot";

    public LoadAttempt(
        ModelLoadReason reason,
        ModelArtifact? artifact,
        TaskCompletionSource<ModelGeneration<TModel>> completion,
        ModelLoadLimiter limiter,
        TimeProvider timeProvider,
        TimeSpan timeout,
        ILoadAttemptOwner<TModel> owner)
    {
        Reason = reason;
        Artifact = artifact;
        Completion = completion;
        _limiter = limiter;
        _timeProvider = timeProvider;
        _timeout = timeout;
        _owner = owner;
        _holdings = new LoadAttemptHoldings(limiter);
        StartedAt = timeProvider.GetTimestamp();
        QueuedAt = StartedAt;
    }

    public ModelLoadReason Reason { get; }

    /// <summary>The steps this attempt runs, made for it by its runner (a known model holds none between loads).</summary>
    public LoadPipeline<TModel>? Pipeline { get; set; }

    /// <summary>The content to load (a rollback); <see langword="null"/> to fetch it from the source.</summary>
    public ModelArtifact? Artifact { get; }

    /// <summary>What the attempt's callers wait for.</summary>
    public TaskCompletionSource<ModelGeneration<TModel>> Completion { get; }

    /// <summary>Cancelled when the attempt times out or the cache is disposed.</summary>
    public CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>When the attempt got its load slot (a <see cref="TimeProvider"/> timestamp).</summary>
    public long StartedAt { get; private set; }

    /// <summary>When the attempt was asked for; the time until <see cref="StartedAt"/> is its wait for a load slot.</summary>
    public long QueuedAt { get; }

    /// <summary>Whether it was abandoned before its thread started (its wait for a slot timed out, it was refused, or the cache was disposed).</summary>
    public bool NeverStarted { get; private set; }

    /// <summary>Whether it was refused a thread because the process's cap of abandoned load threads was reached.</summary>
    public bool Refused { get; private set; }

    /// <summary>The step running now, for messages: "loading", "warming up", …</summary>
    public string Step
    {
        get => _step;
        set => _step = value;
    }

    public bool IsAbandoned => Volatile.Read(ref _phase) == Abandoned;

    /// <summary>Whether the attempt's thread has ended (set before the owner hears of it).</summary>
    public bool HasEnded => _hasEnded;

    /// <summary>Completes when the attempt's thread has ended (at once for an attempt abandoned while it waited for a slot: it never runs).</summary>
    public Task Ended => _ended.Task;

    /// <summary>Waits for a load slot, then starts the attempt's thread.</summary>
    public void Start()
    {
        _limiter.Enter(this);
        if (Volatile.Read(ref _phase) == Queued && _limiter.QueueTimeout != Timeout.InfiniteTimeSpan)
        {
            // Queued behind MaxConcurrentLoads others: the wait has a time-out of its own (its load timeout starts with the slot).
            _queueTimer = _timeProvider.CreateTimer(static state => ((LoadAttempt<TModel>)state!).QueueTimeOut(), this, _limiter.QueueTimeout, Timeout.InfiniteTimeSpan);
            if (Volatile.Read(ref _phase) != Queued)
            {
                _queueTimer.Dispose();
            }
        }
    }

    /// <summary>Called by the work once its result is ready: <see langword="false"/> when the attempt was abandoned meanwhile.</summary>
    public bool TryBeginFinish() => Interlocked.CompareExchange(ref _phase, Finishing, Running) == Running;

    /// <summary>
    /// On the attempt's thread, once <paramref name="budget"/> granted <paramref name="reservation"/>: the attempt holds
    /// it, so that abandonment gives it back at once rather than when the thread ends.
    /// </summary>
    /// <exception cref="OperationCanceledException">The attempt was abandoned already: the reservation was given back.</exception>
    public void HoldReservation(MemoryBudget budget, MemoryBudget.Reservation reservation)
    {
        if (!IsAbandoned && _holdings.TryHold(budget, reservation))
        {
            return;
        }

        budget.Cancel(reservation);
        throw new OperationCanceledException("The load attempt was abandoned.", CancellationToken);
    }

    /// <summary>
    /// The reservation the attempt holds, now the caller's to charge or cancel; <see langword="null"/> when there is none
    /// or the attempt was abandoned (abandonment gives it back: it marks the attempt first and gives the reservation back
    /// just after, so a work that lost <see cref="TryBeginFinish"/> could otherwise take it in between).
    /// </summary>
    public MemoryBudget.Reservation? TakeReservation() => IsAbandoned ? null : _holdings.TakeReservation();

    /// <summary>Abandons the attempt if its timeout has passed; synchronous waiters call it, so that a timeout never needs a free pool thread.</summary>
    public void AbandonIfOverdue()
    {
        int phase = Volatile.Read(ref _phase);
        if (_timeout != Timeout.InfiniteTimeSpan && phase == Running && _timeProvider.GetElapsedTime(StartedAt) >= _timeout)
        {
            TimeOut();
        }
        else if (phase == Queued && _limiter.QueueTimeout != Timeout.InfiniteTimeSpan && _timeProvider.GetElapsedTime(QueuedAt) >= _limiter.QueueTimeout)
        {
            QueueTimeOut();
        }
    }

    bool ILoadSlotWaiter.OnSlot()
    {
        if (Volatile.Read(ref _phase) == Abandoned)
        {
            // Abandoned (the cache was disposed) while it waited for the slot: the limiter hands the slot on.
            return false;
        }

        _queueTimer?.Dispose();
        if (_limiter.AbandonedThreads.IsFull)
        {
            // Threads of abandoned attempts already fill the process's cap: fail fast rather than start one more.
            Refused = true;
            Abandon(new InvalidOperationException(_limiter.AbandonedThreads.RefusalMessage()));
            return false;
        }

        StartedAt = _timeProvider.GetTimestamp();
        if (_timeout != Timeout.InfiniteTimeSpan)
        {
            _timer = _timeProvider.CreateTimer(static state => ((LoadAttempt<TModel>)state!).TimeOut(), this, _timeout, Timeout.InfiniteTimeSpan);
        }

        // Before the phase says Running: from then on, abandonment may give the slot back.
        _holdings.SetHoldsSlot(true);

        if (Interlocked.CompareExchange(ref _phase, Running, Queued) != Queued)
        {
            _timer?.Dispose();
            _holdings.SetHoldsSlot(false);

            return false;
        }

        var thread = new Thread(static state => ((LoadAttempt<TModel>)state!).Run())
        {
            IsBackground = true,
            Name = "ModelCaching load",
        };
        thread.UnsafeStart(this);
        return true;
    }

    private void Run()
    {
        try
        {
            _owner.Run(this);
        }
        finally
        {
            // A work that ended without reaching TryBeginFinish (it threw first) can no longer be abandoned either.
            Interlocked.CompareExchange(ref _phase, Finishing, Running);
            End();
        }
    }

    private void End()
    {
        _hasEnded = true;
        _holdings.OnThreadEnded();
        _timer?.Dispose();
        _owner.OnEnded(this);
        _ended.TrySetResult();
    }

    /// <summary>The cache is being disposed (<see cref="LoadCoordinator{TModel}.AbandonAll"/>): abandons the attempt, whatever its phase; idempotent.</summary>
    public void AbandonForDisposal() => Abandon(null);

    private void QueueTimeOut() => Abandon(new TimeoutException($"The load waited {_limiter.QueueTimeout} for one of the load slots (ModelCacheOptions.MaxConcurrentLoads) and timed out; {_limiter.Running} loads were running and {_limiter.Queued} waiting."));

    private void TimeOut() => Abandon(new TimeoutException($"The load did not finish within its timeout of {_timeout} (step: {_step})."));

    /// <param name="cause">The timeout or the refusal, or <see langword="null"/> when the cache is being disposed.</param>
    private void Abandon(Exception? cause)
    {
        int phase = Volatile.Read(ref _phase);
        while (phase is Queued or Running)
        {
            int seen = Interlocked.CompareExchange(ref _phase, Abandoned, phase);
            if (seen == phase)
            {
                _cancellation.Cancel();
                if (phase == Queued)
                {
                    // It never started: nothing of it will run (so it has ended); the limiter skips it when the slot comes.
                    NeverStarted = true;
                    _hasEnded = true;
                    _queueTimer?.Dispose();
                }
                else
                {
                    _holdings.GiveBack();
                }

                _owner.OnAbandoned(this, cause ?? new OperationCanceledException("The model cache was disposed."));
                if (phase == Queued)
                {
                    _ended.TrySetResult();
                }

                return;
            }

            phase = seen;
        }
    }
}
