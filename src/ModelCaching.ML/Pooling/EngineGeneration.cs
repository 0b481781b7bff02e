using System.Numerics;
using System.Runtime.CompilerServices;
using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>
/// The engines of one model generation. Engines never move between generations: once the pool serves a
/// newer model this generation is retired, its idle engines are disposed, and engines still in use are
/// disposed when they come back. The generation holds a lease on its model, so the cache does not dispose
/// the model while any engine built on it is alive; the lease ends with the last engine.
/// </summary>
internal sealed class EngineGeneration<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    private readonly PredictionPool<TData, TPrediction> _pool;
    private readonly PaddedSlot[] _slots;
    private readonly int _mask;
    private readonly int _maximum;

    // Below this many engines, a core whose slot is empty builds its own engine instead of taking another
    // core's idle one: with a single engine shared by two busy cores, the engine (and its buffers) would move
    // between them on almost every call.
    private readonly int _onePerCore;
    private readonly object _waitLock = new();
    private readonly ModelLease<ITransformer> _lease;

    // Written only when an engine is created or disposed, and while callers wait: not on the hot path.
    private int _live;
    private int _waiters;
    private volatile bool _retired;
    private int _released;

    public EngineGeneration(PredictionPool<TData, TPrediction> pool, ModelLease<ITransformer> lease, long number, int maximum)
    {
        _pool = pool;
        _lease = lease;
        Model = lease.Model;
        Version = lease.Version;
        Number = number;
        _maximum = maximum;
        _onePerCore = Math.Min(maximum, Environment.ProcessorCount);

        // A power of two so that the per-core index is a mask; at least one slot per engine so an idle
        // engine always has somewhere to go.
        int slots = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(maximum, Environment.ProcessorCount));
        _slots = new PaddedSlot[slots];
        _mask = slots - 1;
    }

    public ITransformer Model { get; }

    /// <summary>The cache's version of the model.</summary>
    public ModelVersion Version { get; }

    public long Number { get; }

    public int LiveEngines => Volatile.Read(ref _live);

    /// <summary>Takes the idle engine in this core's slot, if there is one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PredictionEngine<TData, TPrediction>? TryRentFast() => TryRentFast(out _);

    /// <summary>
    /// Takes the idle engine in this core's slot, if there is one, and says which slot that is, so the engine
    /// can go back to it without asking for the processor again. Every generation of a pool has as many slots,
    /// so the index stays valid when the caller moves to a newer generation.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PredictionEngine<TData, TPrediction>? TryRentFast(out int slotIndex)
    {
        slotIndex = Thread.GetCurrentProcessorId() & _mask;
        return Unsafe.As<PredictionEngine<TData, TPrediction>?>(Interlocked.Exchange(ref _slots[slotIndex].Value, null));
    }

    /// <summary>Whether <paramref name="engine"/> is idle in one of the slots (so returning it again would be a second return).</summary>
    public bool IsIdle(PredictionEngine<TData, TPrediction> engine)
    {
        PaddedSlot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (ReferenceEquals(Volatile.Read(ref slots[i].Value), engine))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Puts an engine back in this core's slot, or hands it to the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(PredictionEngine<TData, TPrediction> engine) => Return(engine, Thread.GetCurrentProcessorId() & _mask);

    /// <summary>Puts an engine back in the slot <paramref name="slotIndex"/>, or hands it to the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(PredictionEngine<TData, TPrediction> engine, int slotIndex)
    {
        if (!_retired && _live <= _maximum)
        {
            ref object? slot = ref _slots[slotIndex & _mask].Value;
            if (Interlocked.CompareExchange(ref slot, engine, null) is null)
            {
                // The exchange is a full fence: a retirement or a waiter that started before it is seen here.
                if (_retired || _waiters != 0)
                {
                    AfterReturn();
                }

                return;
            }
        }

        ReturnSlow(engine);
    }

    /// <summary>
    /// Finds or creates an engine when this core's slot is empty. Returns <see langword="null"/> when the
    /// generation was retired meanwhile (the caller moves to the new one).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public PredictionEngine<TData, TPrediction>? RentSlow()
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

            if (_pool.Policy == PoolExhaustionPolicy.CreateExtra)
            {
                // Counted in _live, so whichever engine comes back while _live is above the maximum is dropped.
                return Create(extra: true);
            }

            DecrementLive();
            if (deadline == 0)
            {
                deadline = _pool.WaitTimeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)_pool.WaitTimeout.TotalMilliseconds;
                _pool.CountWait();
            }

            if (!WaitForEngine(deadline))
            {
                _pool.ThrowExhausted();
            }
        }
    }

    /// <summary>Disposes an engine whose prediction threw: its state is unknown, so it is not reused.</summary>
    public void Drop(PredictionEngine<TData, TPrediction> engine)
    {
        _pool.CountFaulted();
        DisposeEngine(engine);
    }

    /// <summary>Stops handing out engines and disposes the idle ones; engines in use are disposed on return.</summary>
    public void Retire()
    {
        _retired = true;
        Interlocked.MemoryBarrier();
        DisposeIdle();
        ReleaseModelIfDrained();
        lock (_waitLock)
        {
            Monitor.PulseAll(_waitLock);
        }
    }

    private PredictionEngine<TData, TPrediction>? TakeAnyIdle()
    {
        PaddedSlot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i].Value) is not null && Interlocked.Exchange(ref slots[i].Value, null) is { } engine)
            {
                return Unsafe.As<PredictionEngine<TData, TPrediction>>(engine);
            }
        }

        return null;
    }

    private PredictionEngine<TData, TPrediction> Create(bool extra)
    {
        try
        {
            return _pool.CreateEngine(this, extra);
        }
        catch
        {
            DecrementLive();
            Signal();
            throw;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReturnSlow(PredictionEngine<TData, TPrediction> engine)
    {
        if (_retired || Volatile.Read(ref _live) > _maximum)
        {
            DisposeEngine(engine);
            return;
        }

        PaddedSlot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref slots[i].Value, engine, null) is null)
            {
                if (_retired || _waiters != 0)
                {
                    AfterReturn();
                }

                return;
            }
        }

        // Every slot is full, which only a burst of returns racing a retirement can cause: keep the bound.
        DisposeEngine(engine);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AfterReturn()
    {
        if (_retired)
        {
            // Retired between our check and our exchange: the retirement may have missed this engine.
            DisposeIdle();
        }

        if (Volatile.Read(ref _waiters) != 0)
        {
            Signal();
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
                if (_retired || Volatile.Read(ref _live) < _maximum || HasIdle())
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

    private bool HasIdle()
    {
        foreach (PaddedSlot slot in _slots)
        {
            if (slot.Value is not null)
            {
                return true;
            }
        }

        return false;
    }

    private void Signal()
    {
        lock (_waitLock)
        {
            Monitor.Pulse(_waitLock);
        }
    }

    private void DisposeIdle()
    {
        PaddedSlot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Interlocked.Exchange(ref slots[i].Value, null) is { } engine)
            {
                DisposeEngine(Unsafe.As<PredictionEngine<TData, TPrediction>>(engine));
            }
        }
    }

    private void DisposeEngine(PredictionEngine<TData, TPrediction> engine)
    {
        _pool.DisposeEngine(engine);
        DecrementLive();
        if (Volatile.Read(ref _waiters) != 0)
        {
            Signal();
        }
    }

    private void DecrementLive()
    {
        Interlocked.Decrement(ref _live);
        ReleaseModelIfDrained();
    }

    /// <summary>Ends the lease on the model once the generation is retired and its last engine is disposed.</summary>
    private void ReleaseModelIfDrained()
    {
        // Both orders are covered: the retirement checks _live after setting _retired (with a fence), and every
        // decrement checks _retired after the (fenced) decrement; renters re-check _retired after incrementing.
        if (_retired && Volatile.Read(ref _live) == 0 && Interlocked.Exchange(ref _released, 1) == 0)
        {
            _lease.Dispose();
        }
    }
}
