using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using ModelCaching.Diagnostics;
using ModelCaching.Generations;

namespace ModelCaching;

public sealed partial class ModelCache<TModel>
{
    // Content hashes that failed to load (or were rolled back from). Loads started by the cache itself
    // (change, retry, refresh) skip them until the content changes; an explicit reload tries again.
    private const int RejectedHashLimit = 32;
    private readonly List<(string Hash, string Cause)> _rejectedHashes = [];
    private readonly Queue<ModelLoadRecord> _history;

    // Guarded by _gate.
    private Task<ModelGeneration<TModel>>? _inflight;
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

                pending = _inflight;
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

            return _inflight;
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
        _inflight = completion.Task;
        if (_current is null)
        {
            _state = ModelCacheState.Loading;
        }

        // Run the load on the pool, outside the lock, without a closure.
        ThreadPool.UnsafeQueueUserWorkItem(static request => _ = request.Cache.RunLoadAsync(request), new LoadRequest(this, reason, artifact, completion), preferLocal: false);
        return completion.Task;
    }

    private async Task RunLoadAsync(LoadRequest request)
    {
        ModelGeneration<TModel>? generation = null;
        Exception? error = null;
        try
        {
            generation = await LoadAndSwapAsync(request.Reason, request.Artifact).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        TaskCompletionSource<ModelGeneration<TModel>>? followUp;
        lock (_gate)
        {
            _inflight = null;
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
            request.Completion.TrySetResult(generation!);
        }
        else
        {
            request.Completion.TrySetException(error);
        }
    }

    private async Task<ModelGeneration<TModel>> LoadAndSwapAsync(ModelLoadReason reason, ModelArtifact? givenArtifact)
    {
        long started = _timeProvider.GetTimestamp();
        using Activity? activity = ModelCacheActivitySource.Instance.StartActivity("modelcache.load");
        activity?.SetTag(ModelCacheMetrics.ModelNameTag, Name);
        activity?.SetTag(ModelCacheMetrics.LoadReasonTag, ModelCacheMetrics.ReasonTag(reason));
        Log.LoadStarted(_logger, Name, _source.Description, reason);

        ModelGeneration<TModel>? current = _current;
        ModelGeneration<TModel>? unloadedFirst = null;
        ModelArtifact? artifact = givenArtifact;
        bool contentAtFault = false;

        // The timeout runs on the cache's TimeProvider and starts once the load holds a slot: time queued behind
        // MaxConcurrentLoads is not load time.
        using var timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token, timeout.Token);
        CancellationToken cancellationToken = linked.Token;
        bool holdsSlot = false;
        try
        {
            await _loadLimiter.WaitAsync(_lifetime.Token).ConfigureAwait(false);
            holdsSlot = true;
            if (_options.LoadTimeout != Timeout.InfiniteTimeSpan)
            {
                timeout.CancelAfter(_options.LoadTimeout);
            }

            if (artifact is null)
            {
                // WaitAsync so that a source that ignores its token still cannot outlive the load timeout.
                artifact = await _source.FetchAsync(new ModelFetchContext(Name, current?.Version, _options.MaxArtifactBytes), cancellationToken)
                    .AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
                if (artifact is null)
                {
                    return current is not null
                        ? Unchanged(current, reason, started, activity)
                        : throw new InvalidOperationException("the source reported its content unchanged, but no model is loaded");
                }

                // (Unless an unload took the generation away meanwhile: then the fetched content is loaded.)
                if (current is not null && IsSameContent(current, artifact) && ReferenceEquals(_current, current))
                {
                    return Unchanged(current, reason, started, activity);
                }

                if (artifact.ContentHash is { } hash && reason != ModelLoadReason.Explicit && IsRejected(hash, out string? rejectedFor))
                {
                    Log.KnownBadContentSkipped(_logger, Name, _source.Description, hash);
                    var skipped = new ModelLoadException(Name, _source.Description, $"its content (SHA-256 {hash}) has not changed since it was rejected: {rejectedFor}");
                    OnLoadFailed(skipped, reason, ModelLoadOutcome.Skipped, hash, started, activity);
                    throw skipped;
                }
            }

            contentAtFault = true;
            CheckIntegrity(artifact);

            if (_options.SwapMode == ModelSwapMode.UnloadFirst && current is not null && reason != ModelLoadReason.FirstUse)
            {
                unloadedFirst = UnloadForSwap(current);
            }

            TModel model = await LoadModelAsync(artifact, cancellationToken).ConfigureAwait(false);
            await PrepareAsync(model, cancellationToken).ConfigureAwait(false);
            ModelGeneration<TModel> generation = CreateGeneration(model, artifact);
            Swap(generation, reason, started, activity);
            return generation;
        }
        catch (Exception ex) when (ex is not ModelLoadException { ModelName: var n } || n != Name)
        {
            bool timedOut = timeout.IsCancellationRequested && !_lifetime.IsCancellationRequested;
            if (_lifetime.IsCancellationRequested)
            {
                throw new ObjectDisposedException($"ModelCache '{Name}'", $"The model cache '{Name}' was disposed while it was loading.");
            }

            var failure = new ModelLoadException(Name, _source.Description, Describe(ex, timedOut), timedOut ? new TimeoutException($"Load timed out after {_options.LoadTimeout}.", ex) : ex);
            if (contentAtFault && !timedOut && artifact?.ContentHash is { } badHash)
            {
                Reject(badHash, failure.Cause);
            }

            if (unloadedFirst is not null)
            {
                await RestoreAfterFailedUnloadFirstAsync(unloadedFirst).ConfigureAwait(false);
            }

            OnLoadFailed(failure, reason, ModelLoadOutcome.Failure, artifact?.ContentHash, started, activity);
            throw failure;
        }
        finally
        {
            if (holdsSlot)
            {
                _loadLimiter.Release();
            }
        }
    }

    private async Task<TModel> LoadModelAsync(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        // On the pool, so that a loader that blocks synchronously still cannot hold the load past its timeout.
        Task<TModel> loading = Task.Run(() => _loader.LoadAsync(artifact, cancellationToken).AsTask(), cancellationToken);
        TModel? model;
        try
        {
            model = await loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!loading.IsCompleted)
        {
            _ = DisposeAbandonedAsync(loading);
            throw;
        }

        return model ?? throw new InvalidOperationException($"the loader {_loader.GetType().Name} returned null");
    }

    private async Task PrepareAsync(TModel model, CancellationToken cancellationToken)
    {
        try
        {
            foreach (Func<TModel, CancellationToken, ValueTask> validate in _options.Validators)
            {
                await validate(model, cancellationToken).ConfigureAwait(false);
            }

            foreach (Func<TModel, CancellationToken, ValueTask> warmUp in _options.WarmUps)
            {
                await warmUp(model, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            DisposeModel(model);
            throw;
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

    private async Task RestoreAfterFailedUnloadFirstAsync(ModelGeneration<TModel> unloaded)
    {
        if (unloaded.Artifact is null)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(_options.LoadTimeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : _options.LoadTimeout, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token, timeout.Token);
            TModel model = await LoadModelAsync(unloaded.Artifact, linked.Token).ConfigureAwait(false);
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

    private static string Describe(Exception ex, bool timedOut) => timedOut
        ? "the load timed out"
        : ex switch
        {
            FileNotFoundException notFound => $"the file was not found ({notFound.FileName ?? notFound.Message})",
            DirectoryNotFoundException => $"the directory was not found ({ex.Message})",
            UnauthorizedAccessException => $"access was denied ({ex.Message})",
            OperationCanceledException => "the load was cancelled",
            _ => $"{ex.GetType().Name}: {ex.Message}",
        };

    // A model that never became a generation (failed validation, abandoned load): generation 0 in the logs.
    private void DisposeModel(TModel model) => ModelDisposal.TryDispose(model, _logger, Name, generation: 0);

    private async Task DisposeAbandonedAsync(Task<TModel> loading)
    {
        try
        {
            TModel? late = await loading.ConfigureAwait(false);
            if (late is not null)
            {
                DisposeModel(late);
                Log.LoadAbandoned(_logger, Name);
            }
        }
        catch
        {
            // The abandoned load failed after all; nothing to clean up.
        }
    }

    private sealed record LoadRequest(ModelCache<TModel> Cache, ModelLoadReason Reason, ModelArtifact? Artifact, TaskCompletionSource<ModelGeneration<TModel>> Completion);
}
