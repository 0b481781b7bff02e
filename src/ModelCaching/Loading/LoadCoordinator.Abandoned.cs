using ModelCaching.Generations;

namespace ModelCaching.Loading;

// Attempts that end without a result of their own: timed out, refused a thread, or abandoned at disposal; and the
// thread of a timed-out attempt that ends later, which lets the load that waited for it start.
internal sealed partial class LoadCoordinator<TModel>
{
    /// <summary>The attempt timed out, was refused a thread, or the cache is being disposed: answer its waiters now, whatever its thread does.</summary>
    void ILoadAttemptOwner<TModel>.OnAbandoned(LoadAttempt<TModel> attempt, Exception cause)
    {
        if (cause is OperationCanceledException)
        {
            lock (this)
            {
                if (_inflight == attempt)
                {
                    _inflight = null;
                }

                DetachIfIdleLocked();
            }

            attempt.Completion.TrySetException(new ObjectDisposedException($"ModelCache '{host.ModelName}'", $"The model cache '{host.ModelName}' was disposed while it was loading."));
            return;
        }

        string reason = attempt.Refused ? cause.Message
            : attempt.NeverStarted ? $"the load never started: {cause.Message}"
            : $"the load timed out after {host.LoadTimeout} while {attempt.Step}";
        var failure = new ModelLoadException(host.ModelName, host.SourceDescription, reason, cause);
        TaskCompletionSource<ModelGeneration<TModel>>? followUp = null;
        LoadAttempt<TModel>? next = null;
        lock (this)
        {
            if (_inflight == attempt)
            {
                _inflight = null;
            }

            if (!attempt.HasEnded)
            {
                // Its thread still runs: it blocks new attempts until it ends (OnEnded, under this lock, clears it).
                _abandoned = attempt;
                followUp = _followUp;
                _followUp = null;
                if (followUp is not null)
                {
                    // Queued behind an attempt that may never end: answer it now, and load once the thread ends.
                    _loadAfterAbandoned = true;
                }
            }
            else if (_followUp is not null && !_closed)
            {
                // The thread ended as the timeout fired: nothing blocks the follow-up any more.
                next = CreateLocked(_followUpReason, artifact: null, _followUp);
                _followUp = null;
            }

            DetachIfIdleLocked();
        }

        host.OnLoadTimedOut(attempt, failure);
        if (next is not null)
        {
            Start(next);
        }

        followUp?.TrySetException(failure);
        attempt.Completion.TrySetException(failure);
    }

    /// <summary>The attempt's thread ended: an abandoned attempt gives way to the load that waited for it.</summary>
    void ILoadAttemptOwner<TModel>.OnEnded(LoadAttempt<TModel> attempt)
    {
        bool retryNow;
        lock (this)
        {
            if (_abandoned != attempt)
            {
                return;
            }

            _abandoned = null;
            retryNow = _loadAfterAbandoned && !_closed;
            _loadAfterAbandoned = false;

            // The retry (if any) asks the model for its coordinator afresh: a detached one is replaced.
            DetachIfIdleLocked();
        }

        if (retryNow)
        {
            host.OnRetryDue();
        }
    }

    private ModelLoadException StillRunning(LoadAttempt<TModel> stuck) => new(
        host.ModelName,
        host.SourceDescription,
        $"an earlier load attempt timed out after {host.LoadTimeout} while {stuck.Step} and has not ended yet (that step ignores cancellation); the next attempt starts when it ends");
}
