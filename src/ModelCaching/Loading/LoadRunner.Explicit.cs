using System.Diagnostics;
using ModelCaching.Diagnostics;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

// What a caller asks for by name: an explicit reload (which does not silently undo a rollback) and a rollback, each
// recorded in the history with who asked.
internal sealed partial class LoadRunner<TModel>
{
    /// <summary>
    /// An explicit reload. Content a rollback went back from is refused (<see cref="ModelReloadRefusedException"/>, from the
    /// fetch step) unless <paramref name="force"/> lets go of the rollback's hold first; the history names the caller.
    /// </summary>
    public async Task<ModelVersion> ReloadAsync(bool force, string? requestedBy, CancellationToken cancellationToken)
    {
        string[] forced = force ? FailSafe.ForgetRolledBack() : [];
        try
        {
            ModelGeneration<TModel> generation = await Request(ModelLoadReason.Explicit).WaitAsync(cancellationToken).ConfigureAwait(false);
            bool undidRollback = generation.ContentHash is { } hash && Array.IndexOf(forced, hash) >= 0;
            if (requestedBy is not null || undidRollback)
            {
                _changes.History.Amend(ModelLoadReason.Explicit, generation.Version.Id, requestedBy, undidRollback ? $"forced: version {generation.Version.Id} serves again, which a rollback went back from" : null);
            }

            if (undidRollback)
            {
                Log.ReloadForced(Logger, Name, requestedBy ?? "an unnamed caller", generation.Version.Id);
            }

            return generation.Version;
        }
        catch (ModelReloadRefusedException refused)
        {
            _changes.Refused(refused, requestedBy);
            throw;
        }
    }

    /// <summary>Rolls back (<see cref="RollbackCoreAsync"/>); the history names the caller.</summary>
    public async Task<ModelVersion> RollbackAsync(string? requestedBy, CancellationToken cancellationToken)
    {
        ModelVersion version = await RollbackCoreAsync(cancellationToken).ConfigureAwait(false);
        if (requestedBy is not null)
        {
            _changes.History.Amend(ModelLoadReason.Rollback, version.Id, requestedBy, detail: null);
        }

        return version;
    }

    /// <summary>Rolls back to the version kept by <see cref="ModelOptions.RollbackRetention"/>, after the load in progress.</summary>
    private async Task<ModelVersion> RollbackCoreAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (Slot.IsDisposed)
            {
                throw _changes.DisposedError();
            }

            // Let the load in progress finish first, whatever its outcome, so the rollback is the last word.
            if (Coordinator.Inflight is { } inflight)
            {
                await WaitIgnoringFailure(inflight.Completion.Task, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!Slot.TryTakeRollback(out ModelGeneration<TModel>? kept, out ModelArtifact? artifact))
            {
                throw new InvalidOperationException($"Model '{Name}' has no previous version to roll back to (RollbackRetention is {Slot.RollbackRetention}).");
            }

            if (kept is not null)
            {
                // RollbackRetention.Generation: swap the kept generation back in, no load.
                long started = Time.GetTimestamp();
                using Activity? activity = StartLoadActivity(ModelLoadReason.Rollback);
                _changes.Swap(kept, ModelLoadReason.Rollback, started, activity);
                return kept.Version;
            }

            Task<ModelGeneration<TModel>> load = Coordinator.StartWith(artifact!, ModelLoadReason.Rollback, out bool startedNow);
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
