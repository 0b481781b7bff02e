using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using ModelCaching.Diagnostics;
using ModelCaching.Generations;
using ModelCaching.Loading;

namespace ModelCaching;

public sealed partial class ModelCache<TModel>
{
    // Content hashes that failed to load (or were rolled back from). Loads started by the cache itself
    // (change, retry, refresh) skip them until the content changes; an explicit reload tries again.
    private const int RejectedHashLimit = 32;
    private readonly List<(string Hash, string Cause)> _rejectedHashes = [];
    private readonly Queue<ModelLoadRecord> _history;

    // Guarded by _gate.
    private LoadAttempt<TModel>? _inflight;

    // A timed-out attempt whose thread has not ended yet (its step ignores cancellation); no other attempt starts
    // until it ends, so a hung loader costs one thread, not one per retry.
    private LoadAttempt<TModel>? _abandoned;
    private bool _loadAfterAbandoned;
    private TaskCompletionSource<ModelGeneration<TModel>>? _followUp;
    private ModelLoadReason _followUpReason;
    private ModelArtifact? _previousArtifact;
    private ModelGeneration<TModel>? _keptGeneration;
    private ModelLoadException? _lastFailure;
    private long _retryNotBefore;

    /// <inheritdoc />
    public IReadOnlyList<ModelLoadRecord> GetHistory()
    {
        lock (_gate)
        {
            return [.. _history];
        }
    }

    /// <inheritdoc />
    public async Task<ModelVersion> RollbackAsync(CancellationToken cancellationToken = default)
    {
        ModelGeneration<TModel>? kept = null;
        Task<ModelGeneration<TModel>>? rollbackLoad = null;
        while (true)
        {
            Task<ModelGeneration<TModel>> pending;
            lock (_gate)
            {
                ThrowIfDisposedLocked();
                if (_inflight is null)
                {
                    if (_keptGeneration is not null)
                    {
                        // RollbackRetention.Generation: swap the kept generation back in, no load.
                        kept = _keptGeneration;
                        _keptGeneration = null;
                        break;
                    }

                    if (_previousArtifact is null)
                    {
                        throw new InvalidOperationException($"Model '{Name}' has no previous version to roll back to (RollbackRetention is {_options.RollbackRetention}).");
                    }

                    rollbackLoad = StartLoadLocked(ModelLoadReason.Rollback, _previousArtifact, completion: null);
                    break;
                }

                pending = _inflight.Completion.Task;
            }

            // Let the load in progress finish first, whatever its outcome, so the rollback is the last word.
            try
            {
                await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ModelLoadException)
            {
            }
        }

        if (kept is not null)
        {
            long started = _timeProvider.GetTimestamp();
            using Activity? activity = ModelCacheActivitySource.Instance.StartActivity("modelcache.load");
            activity?.SetTag(ModelCacheMetrics.ModelNameTag, Name);
            activity?.SetTag(ModelCacheMetrics.LoadReasonTag, ModelCacheMetrics.ReasonTag(ModelLoadReason.Rollback));
            Swap(kept, ModelLoadReason.Rollback, started, activity);
            return kept.Version;
        }

        ModelGeneration<TModel> generation = await rollbackLoad!.WaitAsync(cancellationToken).ConfigureAwait(false);
        return generation.Version;
    }

    /// <summary>
    /// Starts a load, or joins the one in progress. A change or an explicit reload that arrives during a
    /// load may have been missed by it, so it queues exactly one more load after it (coalescing with others).
    /// </summary>
    private Task<ModelGeneration<TModel>> RequestLoad(ModelLoadReason reason)
    {
        lock (_gate)
        {
            ThrowIfDisposedLocked();
            if (_inflight is null)
            {
                if (_abandoned is { } stuck)
                {
                    // One abandoned attempt per model at most: its thread still runs (its step ignores cancellation)
                    // and holds its load slot. Starting another would leak a thread per retry; load when it ends.
                    _loadAfterAbandoned = true;
                    var refused = new ModelLoadException(
                        Name,
                        _source.Description,
                        $"an earlier load attempt timed out after {_options.LoadTimeout} while {stuck.Step} and has not ended yet (that step ignores cancellation); the next attempt starts when it ends",
                        _lastFailure?.InnerException);
                    _lastError = refused.Message;
                    return Task.FromException<ModelGeneration<TModel>>(refused);
                }

                if (_current is null && reason == ModelLoadReason.FirstUse && _lastFailure is { } failure && _timeProvider.GetTimestamp() < _retryNotBefore)
                {
                    // Within the cool-down after a failure: answer at once instead of hammering a broken source.
                    return Task.FromException<ModelGeneration<TModel>>(new ModelLoadException(Name, failure.Source, failure.Cause, failure.InnerException));
                }

                return StartLoadLocked(reason, artifact: null, completion: null);
            }

            // A retry that fires while a load is ending (armed by that very load's failure) must not just join
            // it, or the retry chain stops: it queues the one follow-up like a change does.
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
    }

    private static int Priority(ModelLoadReason reason) => reason switch
    {
        ModelLoadReason.Explicit => 3,
        ModelLoadReason.SourceChanged => 2,
        _ => 1,
    };

    private Task<ModelGeneration<TModel>> StartLoadLocked(ModelLoadReason reason, ModelArtifact? artifact, TaskCompletionSource<ModelGeneration<TModel>>? completion)
    {
        completion ??= new TaskCompletionSource<ModelGeneration<TModel>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempt = new LoadAttempt<TModel>(reason, artifact, completion, _loadLimiter, _timeProvider, _options.LoadTimeout, _runAttempt, _onAttemptAbandoned, _onAttemptEnded);
        _inflight = attempt;
        if (_current is null)
        {
            _state = ModelCacheState.Loading;
        }

        attempt.Start(_lifetime.Token);
        return completion.Task;
    }

    /// <summary>Runs on the attempt's own thread: the pipeline, then (unless the attempt was abandoned) the swap or the failure.</summary>
    private void RunAttempt(LoadAttempt<TModel> attempt)
    {
        using Activity? activity = ModelCacheActivitySource.Instance.StartActivity("modelcache.load");
        activity?.SetTag(ModelCacheMetrics.ModelNameTag, Name);
        activity?.SetTag(ModelCacheMetrics.LoadReasonTag, ModelCacheMetrics.ReasonTag(attempt.Reason));
        Log.LoadStarted(_logger, Name, _source.Description, attempt.Reason);

        LoadOutcome outcome = RunPipeline(attempt);
        if (!attempt.TryBeginFinish())
        {
            // Timed out or disposed meanwhile: the waiters have their answer; this late model never serves.
            activity?.SetStatus(ActivityStatusCode.Error, "abandoned");
            activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "abandoned");
            if (outcome.Model is { } late)
            {
                DisposeModel(late);
                Log.LoadAbandoned(_logger, Name);
            }

            return;
        }

        ModelGeneration<TModel>? generation = null;
        Exception? error = null;
        try
        {
            generation = Finish(attempt, outcome, activity);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        TaskCompletionSource<ModelGeneration<TModel>>? followUp;
        lock (_gate)
        {
            if (_inflight == attempt)
            {
                _inflight = null;
            }

            followUp = _followUp;
            _followUp = null;
            if (followUp is not null && !_disposed)
            {
                StartLoadLocked(_followUpReason, artifact: null, followUp);
                followUp = null;
            }
        }

        followUp?.TrySetException(new ObjectDisposedException($"ModelCache '{Name}'", $"The model cache '{Name}' was disposed."));

        if (error is null)
        {
            attempt.Completion.TrySetResult(generation!);
        }
        else
        {
            attempt.Completion.TrySetException(error);
        }
    }

    /// <summary>
    /// Fetch, verify, load, validate and warm up, synchronously on the attempt's thread. Touches no state but the
    /// unload of an unload-first swap; the result is applied by <see cref="Finish"/> only if the attempt still counts.
    /// </summary>
    private LoadOutcome RunPipeline(LoadAttempt<TModel> attempt)
    {
        CancellationToken cancellationToken = attempt.CancellationToken;
        ModelGeneration<TModel>? current = _current;
        ModelGeneration<TModel>? unloadedFirst = null;
        ModelArtifact? artifact = attempt.Artifact;
        bool contentAtFault = false;
        try
        {
            if (artifact is null)
            {
                attempt.Step = "fetching from the source";
                artifact = Block(_source.FetchAsync(new ModelFetchContext(Name, current?.Version, _options.MaxArtifactBytes), cancellationToken));
                if (artifact is null)
                {
                    return current is not null
                        ? new LoadOutcome { Unchanged = current }
                        : new LoadOutcome { Error = new InvalidOperationException("the source reported its content unchanged, but no model is loaded") };
                }

                // (Unless an unload took the generation away meanwhile: then the fetched content is loaded.)
                if (current is not null && IsSameContent(current, artifact) && ReferenceEquals(_current, current))
                {
                    return new LoadOutcome { Unchanged = current };
                }

                if (artifact.ContentHash is { } hash && attempt.Reason != ModelLoadReason.Explicit && IsRejected(hash, out string? rejectedFor))
                {
                    Log.KnownBadContentSkipped(_logger, Name, _source.Description, hash);
                    var skipped = new ModelLoadException(Name, _source.Description, $"its content (SHA-256 {hash}) has not changed since it was rejected: {rejectedFor}");
                    return new LoadOutcome { Error = skipped, Artifact = artifact, Skipped = true };
                }
            }

            contentAtFault = true;
            attempt.Step = "checking integrity";
            CheckIntegrity(artifact);

            if (_options.SwapMode == ModelSwapMode.UnloadFirst && current is not null && attempt.Reason != ModelLoadReason.FirstUse)
            {
                unloadedFirst = UnloadForSwap(current);
            }

            attempt.Step = "loading";
            TModel model = LoadModel(artifact, cancellationToken);
            try
            {
                foreach (Func<TModel, CancellationToken, ValueTask> validate in _options.Validators)
                {
                    attempt.Step = "validating";
                    Block(validate(model, cancellationToken));
                }

                foreach (Func<TModel, CancellationToken, ValueTask> warmUp in _options.WarmUps)
                {
                    attempt.Step = "warming up";
                    Block(warmUp(model, cancellationToken));
                }
            }
            catch
            {
                DisposeModel(model);
                throw;
            }

            return new LoadOutcome { Model = model, Artifact = artifact };
        }
        catch (Exception ex)
        {
            if (unloadedFirst is not null && !attempt.IsAbandoned)
            {
                RestoreAfterFailedUnloadFirst(unloadedFirst, cancellationToken);
            }

            return new LoadOutcome { Error = ex, Artifact = artifact, ContentAtFault = contentAtFault };
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
            ModelGeneration<TModel> generation = CreateGeneration(model, outcome.Artifact!);
            Swap(generation, attempt.Reason, started, activity);
            return generation;
        }

        Exception ex = outcome.Error!;
        if (outcome.Skipped)
        {
            var skipped = (ModelLoadException)ex;
            OnLoadFailed(skipped, attempt.Reason, ModelLoadOutcome.Skipped, outcome.Artifact?.ContentHash, started, activity);
            throw skipped;
        }

        if (ex is ModelLoadException { ModelName: var modelName } own && modelName == Name)
        {
            throw own;
        }

        var failure = new ModelLoadException(Name, _source.Description, Describe(ex), ex);
        if (outcome.ContentAtFault && outcome.Artifact?.ContentHash is { } badHash)
        {
            Reject(badHash, failure.Cause);
        }

        OnLoadFailed(failure, attempt.Reason, ModelLoadOutcome.Failure, outcome.Artifact?.ContentHash, started, activity);
        throw failure;
    }

    /// <summary>The attempt timed out (or the cache is being disposed): answer its waiters now, whatever its thread does.</summary>
    private void OnAttemptAbandoned(LoadAttempt<TModel> attempt, Exception cause)
    {
        if (cause is not TimeoutException)
        {
            lock (_gate)
            {
                if (_inflight == attempt)
                {
                    _inflight = null;
                }
            }

            attempt.Completion.TrySetException(new ObjectDisposedException($"ModelCache '{Name}'", $"The model cache '{Name}' was disposed while it was loading."));
            return;
        }

        var failure = new ModelLoadException(Name, _source.Description, $"the load timed out after {_options.LoadTimeout} while {attempt.Step}", cause);
        TaskCompletionSource<ModelGeneration<TModel>>? followUp;
        lock (_gate)
        {
            if (_inflight == attempt)
            {
                _inflight = null;
            }

            _abandoned = attempt;
            followUp = _followUp;
            _followUp = null;
            if (followUp is not null)
            {
                // Queued behind an attempt that may never end: answer it now, and load once the thread ends.
                _loadAfterAbandoned = true;
            }
        }

        OnLoadFailed(failure, attempt.Reason, ModelLoadOutcome.Failure, attempt.Artifact?.ContentHash, attempt.StartedAt, activity: null);
        followUp?.TrySetException(failure);
        attempt.Completion.TrySetException(failure);
    }

    /// <summary>The attempt's thread ended: an abandoned attempt gives way to the load that waited for it.</summary>
    private void OnAttemptEnded(LoadAttempt<TModel> attempt)
    {
        bool loadNow;
        lock (_gate)
        {
            if (_abandoned != attempt)
            {
                return;
            }

            _abandoned = null;
            loadNow = _loadAfterAbandoned && !_disposed;
            _loadAfterAbandoned = false;
        }

        if (loadNow)
        {
            StartInBackground(ModelLoadReason.Retry);
        }
    }

    private TModel LoadModel(ModelArtifact artifact, CancellationToken cancellationToken) =>
        Block(_loader.LoadAsync(artifact, cancellationToken)) ?? throw new InvalidOperationException($"the loader {_loader.GetType().Name} returned null");

    // The attempt's thread waits for a step that completes asynchronously; a step that completes synchronously
    // (file, ML.NET, ONNX Runtime) never touches the thread pool.
    private static T Block<T>(ValueTask<T> step) => step.IsCompletedSuccessfully ? step.Result : step.AsTask().GetAwaiter().GetResult();

    private static void Block(ValueTask step)
    {
        if (!step.IsCompletedSuccessfully)
        {
            step.AsTask().GetAwaiter().GetResult();
        }
    }

    private ModelGeneration<TModel> CreateGeneration(TModel model, ModelArtifact artifact)
    {
        long number = Interlocked.Increment(ref _generationCounter);
        long size = _options.SizeEstimator?.Invoke(model, artifact) ?? artifact.Length;
        var version = new ModelVersion(
            artifact.ContentHash ?? artifact.ETag ?? $"g{number}",
            number,
            _source.Description,
            _timeProvider.GetUtcNow(),
            size,
            artifact.ETag);
        return new ModelGeneration<TModel>(Name, model, version, artifact.HasContent ? artifact : null, _logger, _onGenerationDisposed);
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
                if (previous?.Artifact?.ContentHash is { } rolledBackFrom)
                {
                    Reject(rolledBackFrom, $"version {rolledBackFrom} was rolled back");
                }

                released = _keptGeneration;
                _keptGeneration = null;
                _previousArtifact = null;
            }
            else if (previous is not null)
            {
                switch (_options.RollbackRetention)
                {
                    case ModelRollbackRetention.Generation:
                        // Kept loaded (not retired) for an instant rollback; the one kept before is released.
                        released = _keptGeneration;
                        _keptGeneration = previous;
                        retire = null;
                        break;
                    case ModelRollbackRetention.Artifact when previous.Artifact is not null:
                        _previousArtifact = previous.Artifact;
                        break;
                }
            }

            _state = ModelCacheState.Ready;
            _lastFailure = null;
            _lastError = null;
            _loads++;
            OnLoadedLocked();
            AddHistoryLocked(new ModelLoadRecord(_timeProvider.GetUtcNow(), reason, ModelLoadOutcome.Success, generation.Version.Id, null));
        }

        RetireWithDrain(retire);
        RetireWithDrain(released);
        long ended = _timeProvider.GetTimestamp();
        _metrics.RecordLoad(Name, reason, ModelLoadOutcome.Success, started, ended, _timeProvider, null);
        activity?.SetTag(ModelCacheMetrics.ModelVersionTag, generation.Version.Id);
        activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "success");
        Log.Loaded(_logger, Name, generation.Version.Id, generation.Version.Generation, _source.Description, _timeProvider.GetElapsedTime(started, ended).TotalMilliseconds, reason);
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
            }

            OnLoadedLocked();
            AddHistoryLocked(new ModelLoadRecord(_timeProvider.GetUtcNow(), reason, ModelLoadOutcome.Unchanged, current.Version.Id, null));
        }

        _metrics.RecordLoad(Name, reason, ModelLoadOutcome.Unchanged, started, _timeProvider.GetTimestamp(), _timeProvider, null);
        activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "unchanged");
        Log.Unchanged(_logger, Name, _source.Description, current.Version.Id, reason);
        if (recovered)
        {
            Log.Recovered(_logger, Name, _source.Description, current.Version.Id);
        }
        return current;
    }

    private void OnLoadFailed(ModelLoadException failure, ModelLoadReason reason, ModelLoadOutcome outcome, string? versionId, long started, Activity? activity)
    {
        ModelGeneration<TModel>? serving;
        TimeSpan? retryIn = null;
        int retryAttempt = 0;
        lock (_gate)
        {
            serving = _current;
            _loadFailures++;
            _lastError = failure.Message;
            if (serving is not null)
            {
                _state = ModelCacheState.Degraded;
            }
            else if (!_disposed)
            {
                _state = ModelCacheState.Failed;
                _lastFailure = failure;
                _retryNotBefore = _timeProvider.GetTimestamp() + (long)(_options.FailureCooldown.TotalSeconds * _timeProvider.TimestampFrequency);
            }

            AddHistoryLocked(new ModelLoadRecord(_timeProvider.GetUtcNow(), reason, outcome, versionId, failure.Cause));

            // Content known to be bad is not retried on a timer: only a change (or an explicit reload) can fix it.
            if (outcome != ModelLoadOutcome.Skipped)
            {
                retryIn = ScheduleRetryLocked();
                retryAttempt = _consecutiveFailures;
            }

            if (retryIn is null && serving is not null)
            {
                // No retry is coming (known-bad content, or retries off): keep the time-to-live refresh going so a
                // later version is still picked up.
                RearmRefreshLocked();
            }
        }

        _metrics.RecordLoad(Name, reason, outcome, started, _timeProvider.GetTimestamp(), _timeProvider, outcome == ModelLoadOutcome.Failure ? failure : null);
        activity?.SetStatus(ActivityStatusCode.Error, failure.Cause);
        activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, ModelCacheMetrics.OutcomeTag(outcome));
        if (outcome == ModelLoadOutcome.Skipped)
        {
            return;
        }

        if (serving is not null)
        {
            Log.ReloadFailedServingLastGood(_logger, failure, Name, _source.Description, reason, serving.Version.Id, serving.Version.Generation);
        }
        else
        {
            Log.LoadFailed(_logger, failure, Name, _source.Description, reason);
        }

        if (retryIn is { } delay)
        {
            Log.RetryScheduled(_logger, Name, delay, retryAttempt);
        }
    }

    private ModelGeneration<TModel>? UnloadForSwap(ModelGeneration<TModel> current)
    {
        lock (_gate)
        {
            if (_current != current)
            {
                return null;
            }

            _current = null;
            _state = ModelCacheState.Loading;
        }

        // Resource-preserving swap: free the model now (leases still pin it until they end).
        current.Retire();
        return current;
    }

    private void RestoreAfterFailedUnloadFirst(ModelGeneration<TModel> unloaded, CancellationToken cancellationToken)
    {
        if (unloaded.Artifact is null)
        {
            return;
        }

        try
        {
            // Within what is left of the attempt's own timeout: the restore is part of the failed attempt.
            TModel model = LoadModel(unloaded.Artifact, cancellationToken);
            ModelGeneration<TModel> restored = CreateGeneration(model, unloaded.Artifact);
            lock (_gate)
            {
                if (_disposed || _current is not null)
                {
                    restored.Retire();
                    return;
                }

                _current = restored;
            }
        }
        catch (Exception ex)
        {
            Log.LoadFailed(_logger, ex, Name, $"{_source.Description} (restoring the previous content after a failed unload-first swap)", ModelLoadReason.Retry);
        }
    }

    private void CheckIntegrity(ModelArtifact artifact)
    {
        if (artifact.Length > _options.MaxArtifactBytes)
        {
            throw ArtifactReader.TooLarge(artifact.Location, artifact.Length, _options.MaxArtifactBytes);
        }

        if (!artifact.HasContent)
        {
            return;
        }

        foreach (string? expected in (ReadOnlySpan<string?>)[_options.ExpectedSha256, artifact.ExpectedSha256])
        {
            if (expected is not null && !string.Equals(expected, artifact.ContentHash, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"SHA-256 mismatch: expected {expected.ToLowerInvariant()}, the content has {artifact.ContentHash}");
            }
        }
    }

    private static bool IsSameContent(ModelGeneration<TModel> current, ModelArtifact artifact)
    {
        if (artifact.ContentHash is not null)
        {
            return current.Artifact?.ContentHash == artifact.ContentHash || current.Version.Id == artifact.ContentHash;
        }

        return artifact.ETag is not null && current.Version.ETag == artifact.ETag;
    }

    private bool IsRejected(string hash, [NotNullWhen(true)] out string? cause)
    {
        lock (_gate)
        {
            foreach ((string rejected, string why) in _rejectedHashes)
            {
                if (rejected == hash)
                {
                    cause = why;
                    return true;
                }
            }
        }

        cause = null;
        return false;
    }

    private void Reject(string hash, string cause)
    {
        lock (_gate)
        {
            if (IsRejected(hash, out _))
            {
                return;
            }

            if (_rejectedHashes.Count == RejectedHashLimit)
            {
                _rejectedHashes.RemoveAt(0);
            }

            _rejectedHashes.Add((hash, cause));
        }
    }

    private void AddHistoryLocked(ModelLoadRecord record)
    {
        if (_history.Count >= _options.HistoryLength)
        {
            _history.Dequeue();
        }

        _history.Enqueue(record);
    }

    private static string Describe(Exception ex) => ex switch
        {
            FileNotFoundException notFound => $"the file was not found ({notFound.FileName ?? notFound.Message})",
            DirectoryNotFoundException => $"the directory was not found ({ex.Message})",
            UnauthorizedAccessException => $"access was denied ({ex.Message})",
            OperationCanceledException => "the load was cancelled",
            _ => $"{ex.GetType().Name}: {ex.Message}",
        };

    // A model that never became a generation (failed validation, abandoned load): generation 0 in the logs.
    private void DisposeModel(TModel model) => ModelDisposal.TryDispose(model, _logger, Name, generation: 0);

    /// <summary>What a pipeline run produced; applied by <see cref="Finish"/>.</summary>
    private readonly struct LoadOutcome
    {
        public ModelGeneration<TModel>? Unchanged { get; init; }

        public TModel? Model { get; init; }

        public ModelArtifact? Artifact { get; init; }

        public Exception? Error { get; init; }

        public bool Skipped { get; init; }

        public bool ContentAtFault { get; init; }
    }
}
