using System.Diagnostics;
using ModelCaching.Diagnostics;
using ModelCaching.FailSafe;
using ModelCaching.Generations;
using ModelCaching.Loading;

namespace ModelCaching;

// A load from request to swap: the coordinator runs RunLoad on the attempt's own thread; the pipeline does the steps;
// what is left here is applying the outcome to the serving slot, the state, the fail-safe and the events.
public sealed partial class ModelCache<TModel>
{
    /// <summary>Starts a load or joins the one in progress; within the cool-down after a failure, answers at once.</summary>
    private Task<ModelGeneration<TModel>> RequestLoad(ModelLoadReason reason)
    {
        ThrowIfDisposed();
        if (reason == ModelLoadReason.FirstUse && _current is null && !_coordinator.IsLoading && _failSafe.TryGetCooldownFailure(out ModelLoadException? failure))
        {
            // Within the cool-down after a failure: answer at once instead of hammering a broken source.
            return Task.FromException<ModelGeneration<TModel>>(failure);
        }

        return _coordinator.Request(reason);
    }

    private void OnLoadStarting()
    {
        lock (_gate)
        {
            if (_current is null && !_disposed)
            {
                _state = ModelCacheState.Loading;
            }
        }
    }

    private Activity? StartLoadActivity(ModelLoadReason reason)
    {
        Activity? activity = ModelCacheActivitySource.Instance.StartActivity("modelcache.load");
        activity?.SetTag(ModelCacheMetrics.ModelNameTag, Name);
        activity?.SetTag(ModelCacheMetrics.LoadReasonTag, ModelCacheMetrics.ReasonTag(reason));
        return activity;
    }

    /// <summary>On the attempt's thread: the pipeline, then (unless the attempt was abandoned) the swap or the failure.</summary>
    private ModelGeneration<TModel> RunLoad(LoadAttempt<TModel> attempt)
    {
        using Activity? activity = StartLoadActivity(attempt.Reason);
        Log.LoadStarted(_logger, Name, SourceDescription, attempt.Reason);

        LoadOutcome outcome = RunPipeline(attempt, _current);

        // Recorded after the fetch, when it is known whether the model exists (a made-up name adds no series).
        _metrics.RecordLoadWait(this, ModelCacheMetrics.WaitedForSlot, _timeProvider.GetElapsedTime(attempt.QueuedAt, attempt.StartedAt));
        if (!attempt.TryBeginFinish())
        {
            // Timed out or disposed meanwhile: the waiters have their answer; this late model never serves.
            activity?.SetStatus(ActivityStatusCode.Error, "abandoned");
            activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "abandoned");
            // The abandonment gave the reservation back already; a size fitted after that grew it again, so cancel it here
            // too (a cancelled reservation holds 0 bytes: cancelling it twice is harmless).
            attempt.TakeReservation();
            CancelReservation(outcome.Reservation);
            if (outcome.Model is { } late)
            {
                _pipeline.DisposeUnserved(late);
                Log.LoadAbandoned(_logger, Name);
            }

            throw new OperationCanceledException("The load attempt was abandoned.");
        }

        return Finish(attempt, outcome, activity);
    }

    private LoadOutcome RunPipeline(LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current)
    {
        (ModelGeneration<TModel> Generation, ModelArtifact? Bytes)? unloadedFirst = null;
        ModelArtifact? artifact = attempt.Artifact;

        // The step that judges the content, while one runs: a failure there may be the content's fault (ContentFault).
        ContentCheck? check = null;
        Budget.MemoryBudget.Reservation? reservation = null;
        try
        {
            long started;
            long allocated;
            if (_factory is not null && artifact is null)
            {
                // Built, not read: no bytes to fetch or verify (UnloadFirst is refused with a factory at validation).
                reservation = HoldReservation(attempt, ReserveMemory(attempt, artifact: null));
                started = _timeProvider.GetTimestamp();
                TModel built = _pipeline.Create(attempt, current, out bool unchanged, out allocated);
                if (unchanged)
                {
                    attempt.TakeReservation();
                    CancelReservation(reservation);
                    return new LoadOutcome { Unchanged = current };
                }

                long builtRetained = RetainedBytes(artifact: null, attempt.Reason);
                return new LoadOutcome { Model = built, Size = MeasureSize(attempt, built, artifact: null, allocated, reservation, builtRetained), Retained = builtRetained, Reservation = reservation, LoadTime = _timeProvider.GetElapsedTime(started) };
            }

            if (artifact is null)
            {
                FetchOutcome fetched = FetchWithinBudget(attempt, current);

                // The same content as the serving one is no reload (unless an unload took it away meanwhile).
                if (fetched.IsSameAsCurrent && (fetched.Artifact is null || ReferenceEquals(_current, current)))
                {
                    return new LoadOutcome { Unchanged = current };
                }

                if (fetched.KnownBadFailure is { } knownBad)
                {
                    return new LoadOutcome { Error = knownBad, Artifact = fetched.Artifact, Skipped = true };
                }

                artifact = fetched.Artifact!;
            }

            _sourceFound = true;

            check = ContentCheck.Integrity;
            _pipeline.CheckIntegrity(attempt, artifact);
            check = null;
            if (_options.SwapMode == ModelSwapMode.UnloadFirst && current is not null && attempt.Reason != ModelLoadReason.FirstUse)
            {
                unloadedFirst = UnloadForSwap(current);
            }

            reservation = HoldReservation(attempt, ReserveMemory(attempt, artifact));
            started = _timeProvider.GetTimestamp();
            check = ContentCheck.Loader;
            TModel model = _pipeline.Build(attempt, artifact, out allocated);
            check = ContentCheck.Validation;
            _pipeline.Prepare(attempt, model);
            check = null;
            TimeSpan loadTime = _timeProvider.GetElapsedTime(started);
            // Worked out once: the fit and the charge must agree on it, whatever the serving generation does meanwhile.
            long retained = RetainedBytes(artifact, attempt.Reason);
            return new LoadOutcome { Model = model, Artifact = artifact, Size = MeasureSize(attempt, model, artifact, allocated, reservation, retained), Retained = retained, Reservation = reservation, LoadTime = loadTime };
        }
        catch (Exception ex)
        {
            attempt.TakeReservation();
            CancelReservation(reservation);
            if (unloadedFirst is not null && !attempt.IsAbandoned)
            {
                RestoreAfterFailedUnloadFirst(unloadedFirst.Value, attempt.CancellationToken);
            }

            return new LoadOutcome { Error = ex, Artifact = artifact, ContentAtFault = check is { } step && ContentFault.IsContentFault(ex, step) };
        }
    }

    /// <summary>Applies a pipeline's outcome: swap, unchanged, or a failure that keeps the last good model.</summary>
    private ModelGeneration<TModel> Finish(LoadAttempt<TModel> attempt, LoadOutcome outcome, Activity? activity)
    {
        long started = attempt.StartedAt;
        if (outcome.Unchanged is { } unchanged)
        {
            return Unchanged(unchanged, attempt.Reason, started, activity);
        }

        if (outcome.Model is { } model)
        {
            Budget.GenerationCharge? charge = ChargeMemory(model, attempt.TakeReservation(), outcome.Size, outcome.LoadTime, outcome.Retained);
            ModelGeneration<TModel> generation = CreateGeneration(model, outcome.Artifact, outcome.Size, charge);
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

    // The attempt holds the reservation (not this thread's stack), so that an abandoned attempt gives it back at its
    // timeout; whoever takes it from the attempt (charge, cancel) owns it.
    private Budget.MemoryBudget.Reservation? HoldReservation(LoadAttempt<TModel> attempt, Budget.MemoryBudget.Reservation? reservation)
    {
        if (reservation is not null)
        {
            attempt.HoldReservation(_budget!, reservation);
        }

        return reservation;
    }

    private void OnLoadTimedOut(LoadAttempt<TModel> attempt, ModelLoadException failure) =>
        OnLoadFailed(failure, attempt, ModelLoadOutcome.Failure, attempt.Artifact?.ContentHash, activity: null);

    // artifact: null for a model a factory built (its version is its generation number).
    // size: estimated in the pipeline, under the load timeout (SizeEstimator is a user callback).
    // charge: the bytes it holds against the memory budget, if any (released when the generation is disposed).
    private ModelGeneration<TModel> CreateGeneration(TModel model, ModelArtifact? artifact, long size, Budget.GenerationCharge? charge)
    {
        long number = Interlocked.Increment(ref _generationCounter);
        var version = new ModelVersion(
            artifact?.ContentHash ?? artifact?.ETag ?? $"g{number}",
            number,
            SourceDescription,
            _timeProvider.GetUtcNow(),
            size,
            artifact?.ETag);
        ModelArtifact? kept = KeepsContent && artifact is { HasContent: true } ? artifact : null;
        return new ModelGeneration<TModel>(Name, model, version, kept, _logger, _retirement.OnGenerationDisposed, charge)
        {
            ContentHash = artifact?.ContentHash,
        };
    }

    // Whether a generation keeps the bytes it was loaded from: only for a feature that needs them, a rollback to it
    // (RollbackRetention.Artifact) or the restore after a failed unload-first swap. The content hash is enough to tell
    // an unchanged source.
    private bool KeepsContent => _rollback.Retention == ModelRollbackRetention.Artifact || _options.SwapMode == ModelSwapMode.UnloadFirst;

    /// <summary>
    /// The raw bytes a generation loaded from <paramref name="artifact"/> keeps while it serves, charged to the budget
    /// beside the model: its own (when <see cref="KeepsContent"/>) and the previous version's that the swap puts in the
    /// rollback slot (<see cref="ModelRollbackRetention.Artifact"/>; a rollback empties the slot).
    /// </summary>
    private long RetainedBytes(ModelArtifact? artifact, ModelLoadReason reason)
    {
        long own = KeepsContent && artifact is { HasContent: true } ? artifact.Length : 0;
        long previous = reason == ModelLoadReason.Rollback || _rollback.Retention != ModelRollbackRetention.Artifact
            ? 0
            : _current?.Artifact?.Length ?? _rollback.ArtifactBytes;
        return own + previous;
    }

    private void Swap(ModelGeneration<TModel> generation, ModelLoadReason reason, long started, Activity? activity)
    {
        ModelGeneration<TModel>? previous;
        ModelGeneration<TModel>? retire;
        ModelGeneration<TModel>? released = null;
        lock (_gate)
        {
            if (_disposed)
            {
                generation.Retire();
                ThrowDisposed();
            }

            previous = _current;
            _current = generation;
            retire = previous;
            if (reason == ModelLoadReason.Rollback)
            {
                // The version rolled back from is not picked up again by automatic reloads until it changes.
                if (previous?.ContentHash is { } rolledBackFrom)
                {
                    _failSafe.RejectRolledBack(rolledBackFrom, $"version {rolledBackFrom} was rolled back");
                }

                released = _rollback.Clear();
            }
            else if (previous is not null)
            {
                (retire, released) = _rollback.Replace(previous);
            }

            _state = ModelCacheState.Ready;
            PublishStanding();
            _lastError = null;
            _failSafe.OnSuccess();
            _failSafe.OnServed(generation.ContentHash);
            _timers.OnLoaded();
        }

        _history.Add(new ModelLoadRecord(_timeProvider.GetUtcNow(), reason, ModelLoadOutcome.Success, generation.Version.Id, null));
        _budget?.OnServing();
        _retirement.Retire(retire);
        _retirement.Retire(released);
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
        bool recovered = false;
        lock (_gate)
        {
            if (_state == ModelCacheState.Degraded && _current == current)
            {
                // The source is back to the content that is serving: nothing is wrong any more.
                _state = ModelCacheState.Ready;
                _lastError = null;
                recovered = true;
                PublishStanding();
            }

            _failSafe.OnSuccess();
            _timers.OnLoaded();
        }

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
        ModelGeneration<TModel>? serving;
        TimeSpan? retryIn = null;
        lock (_gate)
        {
            serving = _current;
            _lastError = failure.Message;
            if (serving is not null)
            {
                _state = ModelCacheState.Degraded;
            }
            else if (!_disposed)
            {
                _state = ModelCacheState.Failed;
                _failSafe.StartCooldown(failure);
            }

            PublishStanding();

            // Content known to be bad is not retried on a timer: only a change (or an explicit reload) can fix it.
            if (outcome != ModelLoadOutcome.Skipped && !_disposed)
            {
                retryIn = _failSafe.NextRetryDelay();
                if (retryIn is { } delay)
                {
                    _timers.ArmRetry(delay);
                }
            }

            if (retryIn is null && serving is not null)
            {
                // No retry is coming (known-bad content, or retries off): keep the time-to-live refresh going so a
                // later version is still picked up.
                _timers.ArmRefresh();
            }
        }

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
        else if (_onNeverServedFailure is not null && Interlocked.Read(ref _generationCounter) == 0)
        {
            // A template's model that never loaded (its source does not exist, say) is not kept: its owner forgets it
            // now and logs the failure (rate-limited per template: names made up by clients must not flood the log),
            // and it is disposed once its callers have their failure (disposing first would turn it into an
            // ObjectDisposedException).
            Volatile.Write(ref _droppedFailure, failure);
            _onNeverServedFailure(this);
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

    /// <summary>What a pipeline run produced; applied by <see cref="Finish"/>.</summary>
    private readonly struct LoadOutcome
    {
        public ModelGeneration<TModel>? Unchanged { get; init; }

        public TModel? Model { get; init; }

        public ModelArtifact? Artifact { get; init; }

        public Exception? Error { get; init; }

        public bool Skipped { get; init; }

        /// <summary>The content caused the failure (<see cref="ContentFault"/>): its hash is remembered as bad unless it has served.</summary>
        public bool ContentAtFault { get; init; }

        public long Size { get; init; }

        /// <summary>The raw bytes the new generation keeps beside its model (RetainedBytes), fitted and charged with it.</summary>
        public long Retained { get; init; }

        /// <summary>
        /// The memory the load reserved in its budget. The attempt holds it (an abandonment gives it back); kept here too so
        /// that bytes a size fit added after an abandonment are given back as well.
        /// </summary>
        public Budget.MemoryBudget.Reservation? Reservation { get; init; }

        /// <summary>How long building the model took (what the budget's eviction learns a load of it costs).</summary>
        public TimeSpan LoadTime { get; init; }
    }
}
