using ModelCaching.Diagnostics;
using ModelCaching.Expiration;
using ModelCaching.Generations;

namespace ModelCaching;

// Everything time-driven runs on timers from the injected TimeProvider, never on the hit path: refresh-ahead before
// the time-to-live ends, idle unloads, and retries with backoff. Also the triggers that start background loads.
public sealed partial class ModelCache<TModel>
{
    private void OnRetryDue() => StartInBackground(ModelLoadReason.Retry);

    void ITimedModel.LoadInBackground(ModelLoadReason reason) => StartInBackground(reason);

    void ITimedModel.UnloadIdle() => Unload("idle");

    private void OnSourceChanged()
    {
        bool loading = _coordinator.IsLoading;
        (SlotState state, ModelGeneration<TModel>? serving, _) = _slot.Read();

        // Never loaded (or unloaded) and nothing loading: the next use reads the new content anyway. But after a
        // failed load nothing may come (an unready instance gets no traffic), so the change loads at once.
        if (state == SlotState.Disposed || (serving is null && !loading && state != SlotState.Failed))
        {
            return;
        }

        Log.ChangeDetected(_logger, Name, SourceDescription);
        StartInBackground(ModelLoadReason.SourceChanged);
    }

    private void StartInBackground(ModelLoadReason reason)
    {
        // Runs on a timer or a load thread: an exception here would be unhandled and end the process. A cache disposed
        // meanwhile (also a template's model dropped after its first load failed, whose ThrowDisposed answers with that
        // failure) has nothing to load.
        if (_slot.IsDisposed)
        {
            return;
        }

        try
        {
            _ = RequestLoad(reason).ContinueWith(
                static task => _ = task.Exception, // Logged and counted by the pipeline already.
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
        catch (Exception ex) when (ex is ObjectDisposedException || _slot.IsDisposed)
        {
            // A timer that fired while the cache was being disposed (or dropped).
        }
    }

    /// <summary>At an idle tick: the hit paths set _used (a read-mostly flag); the tick reads and clears it. Misses are counted exactly.</summary>
    IdleTickState ITimedModel.CheckIdle()
    {
        bool used = _used;
        _used = false;
        long misses = Interlocked.Read(ref _misses);
        bool loading = _coordinator.IsLoading;
        (SlotState state, ModelGeneration<TModel>? serving, _) = _slot.Read();

        // Degraded: the last good model is what fail-safe keeps; an idle unload would throw it away.
        if (state is SlotState.Disposed or SlotState.Degraded || serving is null)
        {
            return IdleTickState.NotApplicable;
        }

        // Leases alive at the unload keep their generation until they end, so they need not hold off the
        // unload; a long-lived holder (an engine pool) lets go on the Unloaded event.
        bool missed = _timers.SawNewMisses(misses);
        return used || missed || loading ? IdleTickState.Active : IdleTickState.Quiet;
    }

    /// <returns>Whether a generation was unloaded.</returns>
    private bool Unload(string reason, ModelCacheState state = ModelCacheState.Unloaded)
    {
        // An eviction re-checks what the budget saw without the slot's lock: Ready, or Degraded (which the budget evicts
        // only as a last resort); a model unloading first for a swap stays.
        ModelGeneration<TModel>? unloaded = _slot.Unload(evict: state == ModelCacheState.Evicted);
        if (unloaded is null)
        {
            return false;
        }

        _history.CountUnload();
        _metrics.RecordUnload(this, reason);
        Log.Unloaded(_logger, Name, unloaded.Version.Id, reason);
        RaiseUnloaded(unloaded.Version, reason);
        return true;
    }
}
