using System.Diagnostics;
using ModelCaching.Diagnostics;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

// What a caller asks for by name: an explicit reload (which does not silently undo a rollback) and a rollback, each
// recorded in the history with who asked. Static: a runner is made only when a load is asked for.
internal sealed partial class LoadRunner<TModel>
{
    /// <summary>
    /// An explicit reload. Content a rollback went back from is refused (<see cref="ModelReloadRefusedException"/>, from the
    /// fetch step) unless <paramref name="force"/> lets go of the rollback's hold first; the history names the caller.
    /// </summary>
    public static async Task<ModelVersion> ReloadAsync(ModelCache<TModel> cache, bool force, string? requestedBy, CancellationToken cancellationToken)
    {
        ServingChanges<TModel> changes = cache.Changes;
        string[] forced = force ? changes.FailSafe.ForgetRolledBack() : [];
        try
        {
            ModelGeneration<TModel> generation = await Request(cache, ModelLoadReason.Explicit).WaitAsync(cancellationToken).ConfigureAwait(false);
            bool undidRollback = generation.ContentHash is { } hash && Array.IndexOf(forced, hash) >= 0;
            if (requestedBy is not null || undidRollback)
            {
                changes.History.Amend(ModelLoadReason.Explicit, generation.Version.Id, requestedBy, undidRollback ? $"forced: version {generation.Version.Id} serves again, which a rollback went back from" : null);
            }

            if (undidRollback)
            {
                Log.ReloadForced(changes.Logger, cache.Name, requestedBy ?? "an unnamed caller", generation.Version.Id);
            }

            return generation.Version;
        }
        catch (ModelReloadRefusedException refused)
        {
            changes.Refused(refused, requestedBy);
            throw;
        }
    }

    /// <summary>Rolls back (<see cref="RollbackCoreAsync"/>); the history names the caller.</summary>
    public static async Task<ModelVersion> RollbackAsync(ModelCache<TModel> cache, string? requestedBy, CancellationToken cancellationToken)
    {
        ModelVersion version = await RollbackCoreAsync(cache, cancellationToken).ConfigureAwait(false);
        if (requestedBy is not null)
        {
            cache.Changes.History.Amend(ModelLoadReason.Rollback, version.Id, requestedBy, detail: null);
        }

        return version;
    }

    /// <summary>Rolls back to the version kept by <see cref="ModelOptions.RollbackRetention"/>, after the load in progress.</summary>
    private static async Task<ModelVersion> RollbackCoreAsync(ModelCache<TModel> cache, CancellationToken cancellationToken)
    {
        ServingChanges<TModel> changes = cache.Changes;
        ModelSlot<TModel> slot = changes.Slot;
        while (true)
        {
            if (slot.IsDisposed)
            {
                throw changes.DisposedError();
            }

            // Let the load in progress finish first, whatever its outcome, so the rollback is the last word.
            if (Current(cache)?.Coordinator.Inflight is { } inflight)
            {
                await WaitIgnoringFailure(inflight.Completion.Task, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!slot.TryTakeRollback(out ModelGeneration<TModel>? kept, out ModelArtifact? artifact))
            {
                throw new InvalidOperationException($"Model '{cache.Name}' has no previous version to roll back to (RollbackRetention is {slot.RollbackRetention}).");
            }

            if (kept is not null)
            {
                // RollbackRetention.Generation: swap the kept generation back in, no load.
                long started = changes.TimeProvider.GetTimestamp();
                using Activity? activity = StartLoadActivity(cache.Name, ModelLoadReason.Rollback);
                changes.Swap(kept, ModelLoadReason.Rollback, started, activity);
                return kept.Version;
            }

            // A runner detached between the read and the start (its last load just ended) starts nothing: read again.
            Task<ModelGeneration<TModel>>? load;
            bool startedNow;
            while ((load = Attached(cache).Coordinator.TryStartWith(artifact!, ModelLoadReason.Rollback, out startedNow)) is null)
            {
            }
            if (!startedNow)
            {
                await WaitIgnoringFailure(load, cancellationToken).ConfigureAwait(false);
                continue;
            }

            ModelGeneration<TModel> generation = await load.WaitAsync(cancellationToken).ConfigureAwait(false);
            return generation.Version;
        }
    }
}
