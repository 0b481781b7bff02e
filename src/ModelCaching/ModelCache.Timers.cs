using ModelCaching.Diagnostics;
using ModelCaching.Expiration;
using ModelCaching.Generations;

namespace ModelCaching;

// Everything time-driven runs on timers from the injected TimeProvider, never on the hit path: refresh-ahead before
// the time-to-live ends, idle unloads, and retries with backoff. Also the triggers that start background loads.
public sealed partial class ModelCache<TModel>
{
    private long _generationCounter;
    private long _lastMisses = -1;

    private void OnRetryDue() => StartInBackground(ModelLoadReason.Retry);

    private void OnSourceChanged()
    {
        bool loading = _coordinator.IsLoading;
        lock (_gate)
        {
            // Never loaded (or unloaded) and nothing loading: the next use reads the new content anyway. But after a
            // failed load nothing may come (an unready instance gets no traffic), so the change loads at once.
            if (_disposed || (_current is null && !loading && _state != ModelCacheState.Failed))
            {
                return;
            }
        }

        Log.ChangeDetected(_logger, Name, SourceDescription);
        StartInBackground(ModelLoadReason.SourceChanged);
    }

    private void StartInBackground(ModelLoadReason reason)
    {
        // Runs on a timer or a load thread: an exception here would be unhandled and end the process. A cache disposed
        // meanwhile (also a template's model dropped after its first load failed, whose ThrowDisposed answers with that
        // failure) has nothing to load.
        if (Volatile.Read(ref _disposed))
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
        catch (Exception ex) when (ex is ObjectDisposedException || Volatile.Read(ref _disposed))
        {
            // A timer that fired while the cache was being disposed (or dropped).
        }
    }

    /// <summary>At an idle tick: the hit paths set _used (a read-mostly flag); the tick reads and clears it. Misses are counted exactly.</summary>
    private IdleTickState CheckIdle()
    {
        bool used = _used;
        _used = false;
        long misses = Interlocked.Read(ref _misses);
        bool loading = _coordinator.IsLoading;
        lock (_gate)
        {
            // Degraded: the last good model is what fail-safe keeps; an idle unload would throw it away.
            if (_disposed || _current is null || _state == ModelCacheState.Degraded)
            {
                return IdleTickState.NotApplicable;
            }

            // Leases alive at the unload keep their generation until they end, so they need not hold off the
            // unload; a long-lived holder (an engine pool) lets go on the Unloaded event.
            if (used || misses != _lastMisses || loading)
            {
                _lastMisses = misses;
                return IdleTickState.Active;
            }

            return IdleTickState.Quiet;
        }
    }

    /// <returns>Whether a generation was unloaded.</returns>
    private bool Unload(string reason, ModelCacheState state = ModelCacheState.Unloaded)
    {
        ModelGeneration<TModel>? unloaded;
        lock (_gate)
        {
            unloaded = _current;

            // An eviction re-checks what the budget saw without this lock: Ready, or Degraded (which the budget evicts only
            // as a last resort); a model unloading first for a swap stays.
            if (_disposed || unloaded is null || (state == ModelCacheState.Evicted && _state is not (ModelCacheState.Ready or ModelCacheState.Degraded)))
            {
                return false;
            }

            _current = null;
            _state = state;
            PublishStanding();
            _timers.OnUnloaded();
            _failSafe.ResetStreak();
        }

        _history.CountUnload();

        // An evicted generation's memory is what a waiting load needs: it drains for EvictionDrainDelay at most.
        _retirement.Retire(unloaded, state == ModelCacheState.Evicted ? _options.EvictionDrainDelay : null);
        _retirement.Retire(_rollback.ReleaseGeneration());
        _metrics.RecordUnload(this, reason);
        Log.Unloaded(_logger, Name, unloaded.Version.Id, reason);
        RaiseUnloaded(unloaded.Version, reason);
        return true;
    }

    /// <summary>The cache's timers: refresh-ahead (time-to-live), retries, idle unloads; each made only when its option is set.</summary>
    private sealed class Timers : IDisposable
    {
        private readonly ModelCache<TModel> _cache;
        private readonly OneShotTimer _retry;
        private readonly OneShotTimer? _refresh;
        private readonly IdleTimer? _idle;
        private readonly TimeSpan _refreshIn;

        public Timers(ModelCache<TModel> cache)
        {
            _cache = cache;
            ModelOptions<TModel> options = cache._options;
            _retry = new OneShotTimer(cache._timeProvider, cache.OnRetryDue);
            if (options.TimeToLive is { } ttl)
            {
                _refreshIn = ttl * options.RefreshAheadRatio;
                _refresh = new OneShotTimer(cache._timeProvider, () => cache.StartInBackground(ModelLoadReason.RefreshAhead));
            }

            if (options.IdleTimeout is { } idle)
            {
                _idle = new IdleTimer(cache._timeProvider, idle, cache.CheckIdle, () => cache.Unload("idle"));
            }
        }

        /// <summary>After a load or an unchanged refresh: no retry pending; the refresh and idle clocks start over.</summary>
        public void OnLoaded()
        {
            _retry.Disarm();
            ArmRefresh();
            if (_idle is not null)
            {
                _cache._lastMisses = -1;
                _idle.Start();
            }
        }

        public void ArmRefresh() => _refresh?.Arm(_refreshIn);

        public void ArmRetry(TimeSpan delay) => _retry.Arm(delay);

        public void OnUnloaded()
        {
            _refresh?.Disarm();
            _retry.Disarm();
        }

        public void Dispose()
        {
            _retry.Dispose();
            _refresh?.Dispose();
            _idle?.Dispose();
        }
    }
}
