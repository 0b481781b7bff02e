using ModelCaching.Diagnostics;
using ModelCaching.Generations;

namespace ModelCaching;

// Everything time-driven runs on timers from the injected TimeProvider, never on the hit path:
// refresh-ahead before the time-to-live ends, idle unloads, retries with backoff, and drain delays.
public sealed partial class ModelCache<TModel>
{
    // Generations swapped out but not yet disposed (draining, or pinned by leases). Guarded by _gate.
    private readonly List<ModelGeneration<TModel>> _retired = [];
    private readonly List<DrainState> _draining = [];

    // Removes a disposed generation from _retired, so that nothing keeps its model reachable (an idle unload
    // must free the memory, and a replaced generation must not linger until someone reads statistics).
    private readonly Action<ModelGeneration<TModel>> _onGenerationDisposed;

    private const int IdleTicksPerTimeout = 4;

    private ITimer? _refreshTimer;
    private ITimer? _idleTimer;
    private ITimer? _retryTimer;
    private int _consecutiveFailures;
    private long _lastActivity = -1;
    private int _quietTicks;

    /// <summary>After a load or an unchanged refresh: reset the failure streak and arm the refresh and idle timers.</summary>
    private void OnLoadedLocked()
    {
        _consecutiveFailures = 0;
        _retryTimer?.Dispose();
        _retryTimer = null;

        RearmRefreshLocked();

        if (_options.IdleTimeout is { } idle)
        {
            _lastActivity = -1;
            _quietTicks = 0;
            if (_idleTimer is null)
            {
                // Four ticks per timeout: the model goes between 1× and 1.25× the timeout after its last use.
                // Counting quiet ticks (rather than reading the clock in the callback) keeps that true when
                // ticks run late or back to back, as they do after a sleep or with a test clock.
                TimeSpan period = idle / IdleTicksPerTimeout;
                _idleTimer = _timeProvider.CreateTimer(static state => ((ModelCache<TModel>)state!).OnIdleTimer(), this, period, period);
            }
        }
    }

    private void RearmRefreshLocked()
    {
        if (_options.TimeToLive is { } ttl && !_disposed)
        {
            TimeSpan refreshIn = ttl * _options.RefreshAheadRatio;
            _refreshTimer ??= _timeProvider.CreateTimer(static state => ((ModelCache<TModel>)state!).OnRefreshTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _refreshTimer.Change(refreshIn, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>After a failure: try again later, doubling the delay each time, with ±20% jitter so a fleet spreads out.</summary>
    /// <returns>The delay, or <see langword="null"/> when no retry is scheduled.</returns>
    private TimeSpan? ScheduleRetryLocked()
    {
        if (_disposed || _options.RetryBaseDelay == TimeSpan.Zero)
        {
            return null;
        }

        // Hand-written rather than a Polly retry: the attempts are independent background loads scheduled
        // between requests (the cache serves meanwhile, and a change event may load sooner), not a loop
        // inside one call, which is what a Polly retry strategy runs.
        int attempt = ++_consecutiveFailures;
        double exponential = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        double capped = Math.Min(exponential, _options.RetryMaxDelay.TotalMilliseconds);
        TimeSpan delay = TimeSpan.FromMilliseconds(capped * (0.8 + (0.4 * Random.Shared.NextDouble())));

        _retryTimer ??= _timeProvider.CreateTimer(static state => ((ModelCache<TModel>)state!).OnRetryTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _retryTimer.Change(delay, Timeout.InfiniteTimeSpan);
        return delay;
    }

    private void StopTimersLocked()
    {
        _refreshTimer?.Dispose();
        _refreshTimer = null;
        _idleTimer?.Dispose();
        _idleTimer = null;
        _retryTimer?.Dispose();
        _retryTimer = null;
    }

    private void OnGenerationDisposed(ModelGeneration<TModel> generation)
    {
        lock (_gate)
        {
            _retired.Remove(generation);
        }
    }

    private void OnRefreshTimer() => StartInBackground(ModelLoadReason.RefreshAhead);

    private void OnRetryTimer() => StartInBackground(ModelLoadReason.Retry);

    private void OnSourceChanged()
    {
        lock (_gate)
        {
            // Never loaded (or unloaded) and nothing loading: the next use reads the new content anyway. But after a
            // failed load nothing may come (an unready instance gets no traffic), so the change loads at once.
            if (_disposed || (_current is null && _inflight is null && _state != ModelCacheState.Failed))
            {
                return;
            }
        }

        Log.ChangeDetected(_logger, Name, _source.Description);
        StartInBackground(ModelLoadReason.SourceChanged);
    }

    private void StartInBackground(ModelLoadReason reason)
    {
        try
        {
            _ = RequestLoad(reason).ContinueWith(
                static task => _ = task.Exception, // Logged and counted by the pipeline already.
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
        catch (ObjectDisposedException)
        {
            // A timer that fired while the cache was being disposed.
        }
    }

    private void OnIdleTimer()
    {
        // The hit paths set _used (a read-mostly flag); this tick clears it. Misses are counted exactly.
        bool used = _used;
        _used = false;
        long activity = Interlocked.Read(ref _misses);
        lock (_gate)
        {
            // Degraded: the last good model is what fail-safe keeps; an idle unload would throw it away.
            if (_disposed || _current is null || _state == ModelCacheState.Degraded)
            {
                return;
            }

            // Leases alive at the unload keep their generation until they end, so they need not hold off the
            // unload; a long-lived holder (an engine pool) lets go on the Unloaded event.
            if (used || activity != _lastActivity || _inflight is not null)
            {
                _lastActivity = activity;
                _quietTicks = 0;
                return;
            }

            if (++_quietTicks < IdleTicksPerTimeout)
            {
                return;
            }
        }

        Unload("idle");
    }

    private void Unload(string reason)
    {
        ModelGeneration<TModel>? unloaded;
        ModelGeneration<TModel>? kept;
        lock (_gate)
        {
            unloaded = _current;
            if (_disposed || unloaded is null)
            {
                return;
            }

            _current = null;
            kept = _keptGeneration;
            _keptGeneration = null;
            _state = ModelCacheState.Unloaded;
            _unloads++;
            _refreshTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _retryTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _consecutiveFailures = 0;
        }

        RetireWithDrain(unloaded);
        RetireWithDrain(kept);
        _metrics.RecordUnload(Name, reason);
        Log.Unloaded(_logger, Name, unloaded.Version.Id, reason);
        RaiseUnloaded(unloaded.Version, reason);
    }

    /// <summary>
    /// Drops the cache's reference on a swapped-out generation. Disposable models get <see cref="ModelOptions.DrainDelay"/>
    /// first, for callers that took them from GetModel() without a lease. One generation at most waits out that delay:
    /// when another is swapped out, the one waiting is retired at once (disposed as soon as its leases end), so a burst
    /// of reloads of a large model never holds a copy per reload.
    /// </summary>
    private void RetireWithDrain(ModelGeneration<TModel>? generation)
    {
        if (generation is null)
        {
            return;
        }

        bool disposable = generation.Model is IDisposable or IAsyncDisposable;
        DrainState[] cutShort = [];
        lock (_gate)
        {
            _retired.Add(generation);
            if (disposable && _options.DrainDelay > TimeSpan.Zero && !_disposed)
            {
                cutShort = [.. _draining];
                _draining.Clear();
                var drain = new DrainState(this, generation);
                drain.Timer = _timeProvider.CreateTimer(static state => ((DrainState)state!).Fire(), drain, _options.DrainDelay, Timeout.InfiniteTimeSpan);
                _draining.Add(drain);
                generation = null;
            }
        }

        foreach (DrainState older in cutShort)
        {
            older.Timer?.Dispose();
            older.Generation.Retire();
        }

        generation?.Retire();
    }

    /// <summary>Swapped-out generations not yet disposed: waiting out the drain delay, or pinned by leases.</summary>
    private int CountRetiredGenerations()
    {
        lock (_gate)
        {
            _retired.RemoveAll(static generation => generation.IsDisposed);
            return _retired.Count;
        }
    }

    private void RetireDrainingNow()
    {
        ModelGeneration<TModel>[] retired;
        lock (_gate)
        {
            foreach (DrainState drain in _draining)
            {
                drain.Timer?.Dispose();
            }

            _draining.Clear();
            retired = [.. _retired];
        }

        foreach (ModelGeneration<TModel> generation in retired)
        {
            generation.Retire();
        }
    }

    private sealed class DrainState(ModelCache<TModel> cache, ModelGeneration<TModel> generation)
    {
        public ITimer? Timer { get; set; }

        public ModelGeneration<TModel> Generation => generation;

        public void Fire()
        {
            lock (cache._gate)
            {
                cache._draining.Remove(this);
            }

            Timer?.Dispose();
            generation.Retire();
        }
    }
}
