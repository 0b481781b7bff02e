using System.Diagnostics;
using ModelCaching.Diagnostics;
using ModelCaching.Generations;

namespace ModelCaching;

// Going back: an explicit rollback to the previous version (RollbackRetention), and the restore of the previous content
// when an unload-first swap (SwapMode.UnloadFirst) fails.
public sealed partial class ModelCache<TModel>
{
    /// <inheritdoc />
    public async Task<ModelVersion> RollbackAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ThrowIfDisposed();

            // Let the load in progress finish first, whatever its outcome, so the rollback is the last word.
            if (_coordinator.Inflight is { } inflight)
            {
                await WaitIgnoringFailure(inflight.Completion.Task, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!_rollback.TryTake(out ModelGeneration<TModel>? kept, out ModelArtifact? artifact))
            {
                throw new InvalidOperationException($"Model '{Name}' has no previous version to roll back to (RollbackRetention is {_rollback.Retention}).");
            }

            if (kept is not null)
            {
                // RollbackRetention.Generation: swap the kept generation back in, no load.
                long started = _timeProvider.GetTimestamp();
                using Activity? activity = StartLoadActivity(ModelLoadReason.Rollback);
                Swap(kept, ModelLoadReason.Rollback, started, activity);
                return kept.Version;
            }

            Task<ModelGeneration<TModel>> load = _coordinator.StartWith(artifact!, ModelLoadReason.Rollback, out bool startedNow);
            if (!startedNow)
            {
                await WaitIgnoringFailure(load, cancellationToken).ConfigureAwait(false);
                continue;
            }

            ModelGeneration<TModel> generation = await load.WaitAsync(cancellationToken).ConfigureAwait(false);
            return generation.Version;
        }
    }

    private static async Task WaitIgnoringFailure(Task task, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ModelLoadException)
        {
        }
    }

    // Returns the unloaded generation with the bytes to restore it from, read before it is retired (a disposed
    // generation lets its bytes go).
    private (ModelGeneration<TModel> Generation, ModelArtifact? Bytes)? UnloadForSwap(ModelGeneration<TModel> current)
    {
        lock (_gate)
        {
            if (_current != current)
            {
                return null;
            }

            _current = null;
            _state = ModelCacheState.Loading;
            PublishStanding();
        }

        // Resource-preserving swap: free the model now (leases still pin it until they end).
        ModelArtifact? bytes = current.Artifact;
        current.Retire();
        return (current, bytes);
    }

    private void RestoreAfterFailedUnloadFirst((ModelGeneration<TModel> Generation, ModelArtifact? Bytes) unloadedFirst, CancellationToken cancellationToken)
    {
        (ModelGeneration<TModel> unloaded, ModelArtifact? bytes) = unloadedFirst;
        if (bytes is null)
        {
            return;
        }

        try
        {
            // Within what is left of the attempt's own timeout: the restore is part of the failed attempt.
            TModel model = _pipeline.Load(bytes, cancellationToken);
            ModelGeneration<TModel> restored = CreateGeneration(model, bytes, unloaded.Version.SizeBytes, ChargeMemory(model, reservation: null, unloaded.Version.SizeBytes, TimeSpan.Zero, RetainedBytes(bytes, ModelLoadReason.Retry)));
            lock (_gate)
            {
                if (_disposed || _current is not null)
                {
                    restored.Retire();
                    return;
                }

                _current = restored;
                PublishStanding();
            }
        }
        catch (Exception ex)
        {
            Log.LoadFailed(_logger, ex, Name, $"{SourceDescription} (restoring the previous content after a failed unload-first swap)", ModelLoadReason.Retry);
        }
    }
}
