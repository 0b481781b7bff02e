using System.Numerics;
using System.Runtime.CompilerServices;
using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>
/// The engines of one model generation. Engines never move between generations: once the pool serves a
/// newer model this generation is retired, its idle engines (in slots and in threads' cells) are disposed, and
/// engines in use are disposed when they come back. The generation holds a lease on its model, so the cache does
/// not dispose the model while any engine built on it is alive; the lease ends with the last engine.
/// </summary>
/// <remarks>
/// Two places keep idle engines: a thread's <see cref="EngineCell"/> (the fast path of <c>Predict</c>: no atomic
/// operation, see EngineGeneration.Cells.cs) and per-core padded slots (one exchange per rent and per return).
/// Engines in cells count towards <see cref="PredictionPoolOptions.MaximumEngines"/> like the others.
/// </remarks>
internal sealed partial class EngineGeneration<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    private readonly EngineFactory<TData, TPrediction> _factory;
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

    public EngineGeneration(EngineFactory<TData, TPrediction> factory, ModelLease<ITransformer> lease, long number)
    {
        _factory = factory;
        _lease = lease;
        Model = lease.Model;
        Version = lease.Version;
        Number = number;
        Id = EngineCell.NextGenerationId();
        _maximum = factory.MaximumEngines;
        _onePerCore = Math.Min(_maximum, Environment.ProcessorCount);

        // A power of two so that the per-core index is a mask; at least one slot per engine so an idle
        // engine always has somewhere to go.
        int slots = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(_maximum, Environment.ProcessorCount));
        _slots = new PaddedSlot[slots];
        _mask = slots - 1;

        // At most one cell per core, and at most half the engines, so threads that keep an engine and then go
        // quiet never starve the callers that share the slots.
        _cells = new EngineCell?[Math.Min(Environment.ProcessorCount, _maximum / 2)];
    }

    public ITransformer Model { get; }

    /// <summary>The cache's version of the model.</summary>
    public ModelVersion Version { get; }

    /// <summary>The generation's number in its pool.</summary>
    public long Number { get; }

    /// <summary>A number unique to this generation in the process (threads' cells name their generation by it).</summary>
    public long Id { get; }

    public int LiveEngines => Volatile.Read(ref _live);

    /// <summary>Takes the idle engine in this core's slot, if there is one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PooledEngine<TData, TPrediction>? TryRentFast() => TryRentFast(out _);

    /// <summary>
    /// Takes the idle engine in this core's slot, if there is one, and says which slot that is, so the engine
    /// can go back to it without asking for the processor again. Every generation of a pool has as many slots,
    /// so the index stays valid when the caller moves to a newer generation.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PooledEngine<TData, TPrediction>? TryRentFast(out int slotIndex)
    {
        slotIndex = Thread.GetCurrentProcessorId() & _mask;
        return Unsafe.As<PooledEngine<TData, TPrediction>?>(Interlocked.Exchange(ref _slots[slotIndex].Value, null));
    }

    /// <summary>Whether <paramref name="engine"/> is idle in a slot or a thread's cell (so returning it again would be a second return).</summary>
    public bool IsIdle(PooledEngine<TData, TPrediction> engine)
    {
        PaddedSlot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (ReferenceEquals(Volatile.Read(ref slots[i].Value), engine))
            {
                return true;
            }
        }

        return IsHeldInCell(engine);
    }

    /// <summary>Puts an engine back in this core's slot, or hands it to the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(PooledEngine<TData, TPrediction> engine) => Return(engine, Thread.GetCurrentProcessorId() & _mask);

    /// <summary>Puts an engine back in the slot <paramref name="slotIndex"/>, or hands it to the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(PooledEngine<TData, TPrediction> engine, int slotIndex)
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
    /// Returns the engine of a lease, rented from the slot <paramref name="slotIndex"/> when the engine had been
    /// returned <paramref name="returns"/> times.
    /// A second dispose of the lease finds a newer count and changes nothing.
    /// </summary>
    /// <returns><see langword="false"/> when the lease had already been disposed.</returns>
    public bool ReturnLeased(PooledEngine<TData, TPrediction> engine, int returns, int slotIndex)
    {
        if (Interlocked.CompareExchange(ref engine.Returns, returns + 1, returns) != returns)
        {
            return false;
        }

        Return(engine, slotIndex);
        return true;
    }

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

    /// <summary>Disposes an engine whose prediction threw: its state is unknown, so it is not reused.</summary>
    public void Drop(PooledEngine<TData, TPrediction> engine)
    {
        _factory.CountFaulted();
        DisposeEngine(engine);
    }

    /// <summary>Stops handing out engines and disposes the idle ones; engines in use are disposed on return.</summary>
    public void Retire()
    {
        _retired = true;
        Interlocked.MemoryBarrier();
        RevokeCellsOnRetire();
        DisposeIdle();
        ReleaseModelIfDrained();
        lock (_waitLock)
        {
            Monitor.PulseAll(_waitLock);
        }
    }

    private PooledEngine<TData, TPrediction>? TakeAnyIdle()
    {
        PaddedSlot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i].Value) is not null && Interlocked.Exchange(ref slots[i].Value, null) is { } engine)
            {
                return Unsafe.As<PooledEngine<TData, TPrediction>>(engine);
            }
        }

        return null;
    }

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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReturnSlow(PooledEngine<TData, TPrediction> engine)
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
                DisposeEngine(Unsafe.As<PooledEngine<TData, TPrediction>>(engine));
            }
        }
    }

    private void DisposeEngine(PooledEngine<TData, TPrediction> engine)
    {
        _factory.Dispose(engine);
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
