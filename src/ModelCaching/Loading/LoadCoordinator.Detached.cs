using ModelCaching.Generations;

namespace ModelCaching.Loading;

// The coordinator's own life (issue 18, what a known name costs): its host detaches it when it goes idle, and a detached
// one starts nothing more; the throwing forms below are for a host that never detaches (tests, a coordinator on its own).
internal sealed partial class LoadCoordinator<TModel>
{
    /// <summary>Whether the host let go of this coordinator (it went idle): ask the model for its current one.</summary>
    public bool IsDetached
    {
        get
        {
            lock (this)
            {
                return _detached;
            }
        }
    }

    /// <summary><see cref="TryRequest"/> on a coordinator that is never detached (its host keeps it).</summary>
    public Task<ModelGeneration<TModel>> Request(ModelLoadReason reason) => TryRequest(reason) ?? throw DetachedError();

    /// <summary><see cref="TryStartWith"/> on a coordinator that is never detached (its host keeps it).</summary>
    public Task<ModelGeneration<TModel>> StartWith(ModelArtifact artifact, ModelLoadReason reason, out bool started) =>
        TryStartWith(artifact, reason, out started) ?? throw DetachedError();

    /// <summary><see cref="TryClose"/> on a coordinator that is never detached (its host keeps it).</summary>
    public void Close()
    {
        if (!TryClose(out _))
        {
            throw DetachedError();
        }
    }

    // Under the lock: nothing runs, nothing is queued, no abandoned thread is waited for, and it is not closed (disposal
    // waits for what a closed one ran): the host may let go of it. The host only swaps a reference (no lock, no call out).
    private void DetachIfIdleLocked()
    {
        if (_inflight is null && _followUp is null && _abandoned is null && !_loadAfterAbandoned && !_closed && !_detached)
        {
            _detached = host.TryDetach();
        }
    }

    private static InvalidOperationException DetachedError() => new("The load coordinator was detached from its model; ask the model for its current one.");
}
