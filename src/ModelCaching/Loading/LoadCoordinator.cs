using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>
/// One load at a time per model (single flight): callers who want the model join the attempt in progress; a change, a
/// retry or an explicit reload that arrives during an attempt may have been missed by it, so it queues exactly one more
/// attempt after it (coalescing with the others). An attempt that timed out but whose thread still runs (a step that
/// ignores cancellation) blocks new attempts until it ends, so a hung loader costs one thread, not one per retry; it
/// holds no load slot and no memory meanwhile (<see cref="LoadAttempt{TModel}"/>).
/// </summary>
/// <remarks>
/// It talks to the cache through <see cref="ILoadHost{TModel}"/> only, outside its own lock (but for
/// <see cref="ILoadHost{TModel}.TryDetach"/>), and reads its model's name, clock, timeout and load limiter there (no field
/// of its own for them). The lock is the coordinator itself (never handed out beyond its cache's parts), so a model that
/// is known costs no lock object here. It lives only while it has work (issue 18, what a known name costs): when it goes
/// idle (no attempt, no follow-up, no abandoned thread) and is not closed, its host may detach it; a detached coordinator
/// starts nothing more (its <c>Try…</c> methods answer <see langword="null"/> or <see langword="false"/>) and the caller
/// asks the model for its current one.
/// </remarks>
internal sealed partial class LoadCoordinator<TModel>(ILoadHost<TModel> host)
    : ILoadAttemptOwner<TModel>
    where TModel : class
{
    private LoadAttempt<TModel>? _inflight;
    private TaskCompletionSource<ModelGeneration<TModel>>? _followUp;
    private ModelLoadReason _followUpReason;
    private LoadAttempt<TModel>? _abandoned;
    private bool _loadAfterAbandoned;
    private bool _closed;

    // Set under the lock when the host let go of this coordinator as it went idle: nothing starts here any more.
    private bool _detached;

    // Set at disposal (AbandonAll): an attempt started afterwards is abandoned at once. This replaces a cancellation
    // source per cache that lived as long as the cache for the one moment of its disposal.
    private volatile bool _abandonAll;

    /// <summary>The attempt in progress, if any.</summary>
    public LoadAttempt<TModel>? Inflight
    {
        get
        {
            lock (this)
            {
                return _inflight;
            }
        }
    }

    public bool IsLoading => Inflight is not null;

    /// <summary>Whether a timed-out attempt's thread still runs.</summary>
    public bool AbandonedRunning => Snapshot().Abandoned is not null;

    /// <summary>
    /// Starts an attempt, or joins the one in progress, or queues the one follow-up after it; <see langword="null"/> when
    /// this coordinator was detached (the caller asks the model for its current one).
    /// </summary>
    public Task<ModelGeneration<TModel>>? TryRequest(ModelLoadReason reason)
    {
        LoadAttempt<TModel> started;
        lock (this)
        {
            if (_detached)
            {
                return null;
            }

            if (_inflight is not null)
            {
                // A retry that fires while an attempt is ending (armed by that very attempt's failure) must not just
                // join it, or the retry chain stops: it queues the one follow-up like a change does.
                if (reason is ModelLoadReason.Explicit or ModelLoadReason.SourceChanged or ModelLoadReason.Retry)
                {
                    if (_followUp is null || Priority(reason) > Priority(_followUpReason))
                    {
                        // An explicit reload queued behind a load keeps its meaning (it tries known-bad content again).
                        _followUpReason = reason;
                    }

                    _followUp ??= new TaskCompletionSource<ModelGeneration<TModel>>(TaskCreationOptions.RunContinuationsAsynchronously);
                    return _followUp.Task;
                }

                return _inflight.Completion.Task;
            }

            if (_abandoned is { } stuck)
            {
                _loadAfterAbandoned = true;
                return Task.FromException<ModelGeneration<TModel>>(StillRunning(stuck));
            }

            if (reason == ModelLoadReason.FirstUse && host.FirstUseAnswer() is { } answer)
            {
                DetachIfIdleLocked(); // made for this request only: let go of it again
                return answer;
            }

            started = CreateLocked(reason, artifact: null, completion: null);
        }

        return Start(started);
    }

    /// <summary>
    /// Starts an attempt that loads <paramref name="artifact"/> (a rollback), or returns the attempt in progress to wait
    /// for first; <see langword="null"/> when this coordinator was detached.
    /// </summary>
    public Task<ModelGeneration<TModel>>? TryStartWith(ModelArtifact artifact, ModelLoadReason reason, out bool started)
    {
        LoadAttempt<TModel> attempt;
        lock (this)
        {
            started = false;
            if (_detached)
            {
                return null;
            }

            if (_inflight is { } inflight)
            {
                return inflight.Completion.Task;
            }

            if (_abandoned is { } stuck)
            {
                return Task.FromException<ModelGeneration<TModel>>(StillRunning(stuck));
            }

            attempt = CreateLocked(reason, artifact, completion: null);
        }

        started = true;
        return Start(attempt);
    }

    /// <summary>
    /// No more follow-ups start, a queued one is failed, and the host never detaches it from now on; <see langword="false"/>
    /// when it was detached already. Idempotent: <paramref name="first"/> tells the first call.
    /// </summary>
    public bool TryClose(out bool first)
    {
        TaskCompletionSource<ModelGeneration<TModel>>? followUp;
        lock (this)
        {
            first = false;
            if (_detached)
            {
                return false;
            }

            first = !_closed;
            _closed = true;
            followUp = _followUp;
            _followUp = null;
        }

        followUp?.TrySetException(Disposed());
        return true;
    }

    /// <summary>
    /// At disposal, after <see cref="Close"/>: the attempt in progress is abandoned (its waiters get an
    /// <see cref="ObjectDisposedException"/> now, its token is cancelled), and so is any attempt that starts from now on.
    /// </summary>
    public void AbandonAll()
    {
        LoadAttempt<TModel>? inflight;
        lock (this)
        {
            _abandonAll = true;
            inflight = _inflight;
        }

        inflight?.AbandonForDisposal();
    }

    /// <summary>The attempts to wait for at disposal: the one in progress and a timed-out one still running.</summary>
    public (LoadAttempt<TModel>? Inflight, LoadAttempt<TModel>? Abandoned) Snapshot()
    {
        lock (this)
        {
            return (_inflight, _abandoned);
        }
    }

    /// <summary>The message to show while a timed-out attempt still runs, or <see langword="null"/>.</summary>
    public string? AbandonedMessage()
    {
        lock (this)
        {
            return _abandoned is { } stuck ? StillRunning(stuck).Message : null;
        }
    }

    private static int Priority(ModelLoadReason reason) => reason switch
    {
        ModelLoadReason.Explicit => 3,
        ModelLoadReason.SourceChanged => 2,
        _ => 1,
    };

    private LoadAttempt<TModel> CreateLocked(ModelLoadReason reason, ModelArtifact? artifact, TaskCompletionSource<ModelGeneration<TModel>>? completion)
    {
        completion ??= new TaskCompletionSource<ModelGeneration<TModel>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempt = new LoadAttempt<TModel>(reason, artifact, completion, host.Limiter, host.TimeProvider, host.LoadTimeout, this);
        _inflight = attempt;
        return attempt;
    }

    private Task<ModelGeneration<TModel>> Start(LoadAttempt<TModel> attempt)
    {
        host.OnLoadStarting();

        // Made after AbandonAll (one made before is the attempt in progress, which AbandonAll took): abandoned before it
        // takes a load slot, as registering on the cache's cancelled lifetime token did before.
        if (_abandonAll)
        {
            attempt.AbandonForDisposal();
        }

        attempt.Start();
        return attempt.Completion.Task;
    }

    /// <summary>On the attempt's thread: run, then (unless abandoned meanwhile) start the follow-up and answer the waiters.</summary>
    void ILoadAttemptOwner<TModel>.Run(LoadAttempt<TModel> attempt)
    {
        ModelGeneration<TModel>? generation = null;
        Exception? error = null;
        try
        {
            generation = host.RunLoad(attempt);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        if (attempt.IsAbandoned)
        {
            return;
        }

        TaskCompletionSource<ModelGeneration<TModel>>? followUp;
        LoadAttempt<TModel>? next = null;
        lock (this)
        {
            if (_inflight == attempt)
            {
                _inflight = null;
            }

            followUp = _followUp;
            _followUp = null;
            if (followUp is not null && !_closed)
            {
                next = CreateLocked(_followUpReason, artifact: null, followUp);
                followUp = null;
            }

            DetachIfIdleLocked();
        }

        if (next is not null)
        {
            Start(next);
        }

        followUp?.TrySetException(Disposed());
        if (error is null)
        {
            attempt.Completion.TrySetResult(generation!);
        }
        else
        {
            attempt.Completion.TrySetException(error);
        }
    }

    private ObjectDisposedException Disposed() => new($"ModelCache '{host.ModelName}'", $"The model cache '{host.ModelName}' was disposed.");
}
