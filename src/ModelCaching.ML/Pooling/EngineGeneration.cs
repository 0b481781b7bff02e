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
/// operation; <see cref="EngineCells"/> and EngineGeneration.Cells.cs) and per-core padded slots
/// (<see cref="EngineSlots"/>: one exchange per rent and per return). Engines in cells count towards
/// <see cref="PredictionPoolOptions.MaximumEngines"/> like the others. What happens when a core's slot is empty
/// (build, share, build an extra, wait) is in EngineGeneration.Renting.cs.
/// </remarks>
internal sealed partial class EngineGeneration<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    private readonly EngineFactory<TData, TPrediction> _factory;
    private readonly EngineSlots _slots;
    private readonly int _maximum;
    private readonly ModelLease<ITransformer> _lease;

    // Written only when an engine is created or disposed: not on the hot path.
    private int _live;
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

        // At least one slot per engine, so an idle engine always has somewhere to go.
        _slots = new EngineSlots(Math.Max(_maximum, Environment.ProcessorCount));

        // At most one cell per core, and at most half the engines, so threads that keep an engine and then go
        // quiet never starve the callers that share the slots.
        _cells = new EngineCells(Math.Min(Environment.ProcessorCount, _maximum / 2), factory.HitCounts);
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
        slotIndex = _slots.CurrentIndex;
        return Unsafe.As<PooledEngine<TData, TPrediction>?>(_slots.Take(slotIndex));
    }

    /// <summary>Whether <paramref name="engine"/> is idle in a slot or a thread's cell (so returning it again would be a second return).</summary>
    public bool IsIdle(PooledEngine<TData, TPrediction> engine) => _slots.Contains(engine) || _cells.Holds(engine);

    /// <summary>Puts an engine back in this core's slot, or hands it to the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(PooledEngine<TData, TPrediction> engine) => Return(engine, _slots.CurrentIndex);

    /// <summary>Puts an engine back in the slot <paramref name="slotIndex"/>, or hands it to the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(PooledEngine<TData, TPrediction> engine, int slotIndex)
    {
        if (!_retired && _live <= _maximum)
        {
            if (_slots.TryPut(engine, slotIndex))
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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReturnSlow(PooledEngine<TData, TPrediction> engine)
    {
        if (_retired || Volatile.Read(ref _live) > _maximum)
        {
            DisposeEngine(engine);
            return;
        }

        if (_slots.TryPutAny(engine))
        {
            if (_retired || _waiters != 0)
            {
                AfterReturn();
            }

            return;
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

    private void DisposeIdle()
    {
        for (int i = 0; i < _slots.Count; i++)
        {
            if (_slots.Take(i) is { } engine)
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
