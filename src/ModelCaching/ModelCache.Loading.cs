using System.Diagnostics;
using ModelCaching.Diagnostics;
using ModelCaching.FailSafe;
using ModelCaching.Generations;
using ModelCaching.Loading;

namespace ModelCaching;

// A load from request to swap: the coordinator runs RunLoad on the attempt's own thread (ILoadHost); the pipeline runs
// the steps (reaching the cache through ILoadStepHost); what is left here is applying the outcome to the serving slot,
// the state, the fail-safe and the events.
public sealed partial class ModelCache<TModel> : ILoadHost<TModel>, ILoadStepHost<TModel>
{
    /// <summary>Starts a load or joins the one in progress; within the cool-down after a failure, answers at once.</summary>
    private Task<ModelGeneration<TModel>> RequestLoad(ModelLoadReason reason)
    {
        ThrowIfDisposed();
        if (reason == ModelLoadReason.FirstUse && _slot.Serving is null && !_coordinator.IsLoading && _failSafe.TryGetCooldownFailure(out ModelLoadException? failure))
        {
            // Within the cool-down after a failure: answer at once instead of hammering a broken source.
            return Task.FromException<ModelGeneration<TModel>>(failure);
        }

        return _coordinator.Request(reason);
    }

    void ILoadHost<TModel>.OnLoadStarting() => _slot.OnLoadStarting();

    private Activity? StartLoadActivity(ModelLoadReason reason)
    {
        Activity? activity = ModelCacheActivitySource.Instance.StartActivity("modelcache.load");
        activity?.SetTag(ModelCacheMetrics.ModelNameTag, Name);
        activity?.SetTag(ModelCacheMetrics.LoadReasonTag, ModelCacheMetrics.ReasonTag(reason));
        return activity;
    }

    /// <summary>On the attempt's thread: the pipeline, then (unless the attempt was abandoned) the swap or the failure.</summary>
    ModelGeneration<TModel> ILoadHost<TModel>.RunLoad(LoadAttempt<TModel> attempt)
    {
        using Activity? activity = StartLoadActivity(attempt.Reason);
        Log.LoadStarted(_logger, Name, SourceDescription, attempt.Reason);

        LoadOutcome<TModel> outcome = _pipeline.Run(attempt, _slot.Serving);

        // Recorded after the fetch, when it is known whether the model exists (a made-up name adds no series).
        _metrics.RecordLoadWait(this, ModelCacheMetrics.WaitedForSlot, _timeProvider.GetElapsedTime(attempt.QueuedAt, attempt.StartedAt));
        if (!attempt.TryBeginFinish())
        {
            // Timed out or disposed meanwhile: the waiters have their answer; this late model never serves.
            activity?.SetStatus(ActivityStatusCode.Error, "abandoned");
            activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "abandoned");
            _pipeline.DiscardLate(attempt, outcome);
            throw new OperationCanceledException("The load attempt was abandoned.");
        }

        return Finish(attempt, outcome, activity);
    }

    /// <summary>Applies a pipeline's outcome: swap, unchanged, or a failure that keeps the last good model.</summary>
    private ModelGeneration<TModel> Finish(LoadAttempt<TModel> attempt, LoadOutcome<TModel> outcome, Activity? activity)
    {
        long started = attempt.StartedAt;
        if (outcome.Unchanged is { } unchanged)
        {
            return Unchanged(unchanged, attempt.Reason, started, activity);
        }

        if (outcome.Model is { } model)
        {
            Budget.GenerationCharge? charge = ChargeMemory(model, attempt.TakeReservation(), outcome.Size, outcome.LoadTime, outcome.Retained);
            ModelGeneration<TModel> generation = _slot.CreateGeneration(model, outcome.Artifact, outcome.Size, charge);
            Swap(generation, attempt.Reason, started, activity);
            return generation;
        }

        Exception ex = outcome.Error!;
        if (outcome.Skipped)
        {
            var skipped = (ModelLoadException)ex;
            OnLoadFailed(skipped, attempt, ModelLoadOutcome.Skipped, outcome.Artifact?.ContentHash, activity);
            throw skipped;
        }

        if (ex is ModelLoadException { ModelName: var modelName } own && modelName == Name)
        {
            throw own;
        }

        var failure = new ModelLoadException(Name, SourceDescription, LoadPipeline<TModel>.Describe(ex), ex);
        if (outcome.ContentAtFault && outcome.Artifact?.ContentHash is { } badHash)
        {
            _failSafe.Reject(badHash, failure.Cause);
        }

        OnLoadFailed(failure, attempt, ModelLoadOutcome.Failure, outcome.Artifact?.ContentHash, activity);
        throw failure;
    }

    void ILoadHost<TModel>.OnLoadTimedOut(LoadAttempt<TModel> attempt, ModelLoadException failure) =>
        OnLoadFailed(failure, attempt, ModelLoadOutcome.Failure, attempt.Artifact?.ContentHash, activity: null);

    void ILoadHost<TModel>.OnRetryDue() => OnRetryDue();

    ModelGeneration<TModel>? ILoadStepHost<TModel>.Serving => _slot.Serving;

    FetchOutcome ILoadStepHost<TModel>.Fetch(LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current) => FetchWithinBudget(attempt, current);

    void ILoadStepHost<TModel>.OnSourceFound() => _sourceFound = true;

    (ModelGeneration<TModel> Generation, ModelArtifact? Bytes)? ILoadStepHost<TModel>.UnloadFirst(ModelGeneration<TModel> current) => UnloadForSwap(current);

    void ILoadStepHost<TModel>.RestoreAfterFailedUnloadFirst((ModelGeneration<TModel> Generation, ModelArtifact? Bytes) unloaded, CancellationToken cancellationToken) =>
        RestoreAfterFailedUnloadFirst(unloaded, cancellationToken);

    // The attempt holds the reservation (not this thread's stack), so that an abandoned attempt gives it back at its
    // timeout; whoever takes it from the attempt (charge, cancel) owns it.
    Budget.MemoryBudget.Reservation? ILoadStepHost<TModel>.ReserveMemory(LoadAttempt<TModel> attempt, ModelArtifact? artifact)
    {
        Budget.MemoryBudget.Reservation? reservation = ReserveMemory(attempt, artifact);
        if (reservation is not null)
        {
            attempt.HoldReservation(_budget!, reservation);
        }

        return reservation;
    }

    void ILoadStepHost<TModel>.CancelReservation(Budget.MemoryBudget.Reservation? reservation) => CancelReservation(reservation);

    long ILoadStepHost<TModel>.RetainedBytes(ModelArtifact? artifact, ModelLoadReason reason) => RetainedBytes(artifact, reason);

    long ILoadStepHost<TModel>.MeasureSize(LoadAttempt<TModel> attempt, TModel model, ModelArtifact? artifact, long allocated, Budget.MemoryBudget.Reservation? reservation, long retained) =>
        MeasureSize(attempt, model, artifact, allocated, reservation, retained);

    private long RetainedBytes(ModelArtifact? artifact, ModelLoadReason reason) => _slot.RetainedBytes(artifact, reason);

    private void Swap(ModelGeneration<TModel> generation, ModelLoadReason reason, long started, Activity? activity)
    {
        if (!_slot.TrySwap(generation, reason == ModelLoadReason.Rollback, out SlotSwap<TModel> swap))
        {
            ThrowDisposed();
        }

        ModelGeneration<TModel>? previous = swap.Previous;
        _history.Add(new ModelLoadRecord(_timeProvider.GetUtcNow(), reason, ModelLoadOutcome.Success, generation.Version.Id, null));
        _budget?.OnServing();
        _slot.Retire(swap);
        long ended = _timeProvider.GetTimestamp();
        _metrics.RecordLoad(this, reason, ModelLoadOutcome.Success, started, ended, _timeProvider, null);
        activity?.SetTag(ModelCacheMetrics.ModelVersionTag, generation.Version.Id);
        activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "success");
        Log.Loaded(_logger, Name, generation.Version.Id, generation.Version.Generation, SourceDescription, _timeProvider.GetElapsedTime(started, ended).TotalMilliseconds, reason);
        if (reason == ModelLoadReason.Rollback && previous is not null)
        {
            Log.RolledBack(_logger, Name, previous.Version.Id, generation.Version.Id);
        }

        RaiseReloaded(previous?.Version, generation.Version, reason);
    }

    private ModelGeneration<TModel> Unchanged(ModelGeneration<TModel> current, ModelLoadReason reason, long started, Activity? activity)
    {
        bool recovered = _slot.OnUnchanged(current);
        _history.Add(new ModelLoadRecord(_timeProvider.GetUtcNow(), reason, ModelLoadOutcome.Unchanged, current.Version.Id, null));
        _metrics.RecordLoad(this, reason, ModelLoadOutcome.Unchanged, started, _timeProvider.GetTimestamp(), _timeProvider, null);
        activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "unchanged");
        Log.Unchanged(_logger, Name, SourceDescription, current.Version.Id, reason);
        if (recovered)
        {
            Log.Recovered(_logger, Name, SourceDescription, current.Version.Id);
        }

        return current;
    }

    private void OnLoadFailed(ModelLoadException failure, LoadAttempt<TModel> attempt, ModelLoadOutcome outcome, string? versionId, Activity? activity)
    {
        ModelLoadReason reason = attempt.Reason;
        long started = attempt.StartedAt;
        // Content known to be bad is not retried on a timer: only a change (or an explicit reload) can fix it.
        // A template's model that never served is dropped below: no retry timer for it (one firing before the drop's
        // disposal ran would load the made-up name again and take the template's rate-limited log line).
        bool dropped = _onNeverServedFailure is not null && _slot.GenerationCount == 0;
        ModelGeneration<TModel>? serving = _slot.OnLoadFailed(failure, retry: outcome != ModelLoadOutcome.Skipped && !dropped, out TimeSpan? retryIn);
        _history.Add(new ModelLoadRecord(_timeProvider.GetUtcNow(), reason, outcome, versionId, failure.Cause));
        _metrics.RecordLoad(this, reason, outcome, started, _timeProvider.GetTimestamp(), _timeProvider, outcome == ModelLoadOutcome.Failure ? failure : null);
        activity?.SetStatus(ActivityStatusCode.Error, failure.Cause);
        activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, ModelCacheMetrics.OutcomeTag(outcome));
        if (outcome == ModelLoadOutcome.Skipped)
        {
            return;
        }

        if (serving is not null)
        {
            Log.ReloadFailedServingLastGood(_logger, failure, Name, SourceDescription, reason, serving.Version.Id, serving.Version.Generation);
        }
        else if (dropped)
        {
            // A template's model that never loaded (its source does not exist, say) is not kept: its owner forgets it
            // now and logs the failure (rate-limited per template: names made up by clients must not flood the log),
            // and it is disposed once its callers have their failure (disposing first would turn it into an
            // ObjectDisposedException).
            Volatile.Write(ref _droppedFailure, failure);
            _onNeverServedFailure!(this);
            attempt.Completion.Task.ContinueWith(static (_, state) => ((ModelCache<TModel>)state!).Dispose(), this, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            return;
        }
        else
        {
            Log.LoadFailed(_logger, failure, Name, SourceDescription, reason);
        }

        if (retryIn is { } retryDelay)
        {
            Log.RetryScheduled(_logger, Name, retryDelay, _failSafe.ConsecutiveFailures);
        }
    }
}
