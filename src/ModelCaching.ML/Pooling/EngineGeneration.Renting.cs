using System.Runtime.CompilerServices;

namespace ModelCaching.ML;

/// <summary>
/// Renting when the core's slot is empty: build an engine while there are fewer than one per core, otherwise share an
/// idle one, build up to the maximum, and then follow <see cref="PoolExhaustionPolicy"/> (build an extra engine or wait
/// for one to come back).
/// </summary>
internal sealed partial class EngineGeneration<TData, TPrediction>
{
    // Below this many engines, a core whose slot is empty builds its own engine instead of taking another
    // core's idle one: with a single engine shared by two busy cores, the engine (and its buffers) would move
    // between them on almost every call.
    private readonly int _onePerCore;

    // Callers waiting for an engine (PoolExhaustionPolicy.Wait) wait on this lock; returns pulse it. Written only while
    // callers wait: not on the hot path.
    private readonly object _waitLock = new();
    private int _waiters;

    /// <summary>
    /// Finds or creates an engine when this core's slot is empty. Returns <see langword="null"/> when the
    /// generation was retired meanwhile (the caller moves to the new one).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public PooledEngine<TData, TPrediction>? RentSlow()
    {
        if (Volatile.Read(ref _live) < _onePerCore)
        {
            int counted = Interlocked.Increment(ref _live);
            if (_retired)
            {
                DecrementLive();
                return null;
            }

            if (counted <= _onePerCore)
            {
                return Create(extra: false);
            }

            // Another caller built the last per-core engine meanwhile: share like everyone else.
            DecrementLive();
        }

        long deadline = 0;
        bool reclaimed = false;
        while (true)
        {
            if (_retired)
            {
                return null;
            }

            if (TakeAnyIdle() is { } idle)
            {
                return idle;
            }

            if (!reclaimed && Volatile.Read(ref _live) >= _maximum)
            {
                // Before building beyond the maximum or waiting: engines held by threads that died or went quiet
                // go back to the slots (rare: this costs a process-wide barrier).
                reclaimed = true;
                if (ReclaimCells(idleToo: _factory.Policy == PoolExhaustionPolicy.Wait))
                {
                    continue;
                }
            }

            int live = Interlocked.Increment(ref _live);
            if (_retired)
            {
                // Retired between the check above and the increment: the retirement may already have ended the
                // model's lease, so no engine may be built on it. The caller moves to the new generation.
                DecrementLive();
                return null;
            }

            if (live <= _maximum)
            {
                return Create(extra: false);
            }

            if (_factory.Policy == PoolExhaustionPolicy.CreateExtra)
            {
                // Counted in _live, so whichever engine comes back while _live is above the maximum is dropped.
                return Create(extra: true);
            }

            DecrementLive();
            if (deadline == 0)
            {
                deadline = _factory.WaitTimeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)_factory.WaitTimeout.TotalMilliseconds;
                _factory.CountWait();
            }

            if (!WaitForEngine(deadline))
            {
                _factory.ThrowExhausted();
            }
        }
    }

    private PooledEngine<TData, TPrediction>? TakeAnyIdle() => Unsafe.As<PooledEngine<TData, TPrediction>?>(_slots.TakeAny());

    private PooledEngine<TData, TPrediction> Create(bool extra)
    {
        try
        {
            return _factory.Create(this, extra);
        }
        catch
        {
            DecrementLive();
            Signal();
            throw;
        }
    }

    private bool WaitForEngine(long deadline)
    {
        Interlocked.Increment(ref _waiters);
        try
        {
            lock (_waitLock)
            {
                // Checked under the lock that returns take to signal, so a return cannot slip in unseen.
                if (_retired || Volatile.Read(ref _live) < _maximum || _slots.HasAny())
                {
                    return true;
                }

                long remaining = deadline == long.MaxValue ? Timeout.Infinite : deadline - Environment.TickCount64;
                return remaining != 0 && (remaining == Timeout.Infinite || remaining > 0) && Monitor.Wait(_waitLock, (int)Math.Min(remaining, int.MaxValue));
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }

    private void Signal()
    {
        lock (_waitLock)
        {
            Monitor.Pulse(_waitLock);
        }
    }
}
