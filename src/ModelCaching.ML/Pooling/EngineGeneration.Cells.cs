using System.Runtime.CompilerServices;
using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>The engines that threads keep between predictions (see <see cref="EngineCell"/>).</summary>
internal sealed partial class EngineGeneration<TData, TPrediction>
{
    // The registered cells, each at its own index; their engines count in _live. Written when a thread gets a
    // cell or loses it, never per call.
    private readonly EngineCell?[] _cells;
    private int _reservations;

    // How often, at most, a scan may revoke cells whose owners went quiet (it costs a process-wide barrier). It was a
    // second: a thread-pool thread that predicted once and went quiet then held its cell for 1–2 s while a busy thread
    // paid the slots on every call (the outside throughput loop on Task.Run measured 2 threads at 0.8× raw over 2 s
    // rounds). At 50 ms the busy thread gets the cell within 0.1 s, and barriers stay under 20 a second.
    private const long IdleScanIntervalMilliseconds = 50;

    // When the next scan may revoke cells whose owners went quiet.
    private long _nextIdleScan;

    /// <summary>
    /// Starts a prediction with the engine the current thread keeps in <paramref name="cell"/> (a cell of this
    /// generation that the thread is not using): two plain writes and reads, no atomic operation.
    /// </summary>
    /// <returns><see langword="false"/> when the cell was revoked; the caller rents from the slots instead.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnter(EngineCell cell, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PredictionEngine<TData, TPrediction>? engine)
    {
        Volatile.Write(ref cell.InUse, 1);
        if (Volatile.Read(ref cell.Revoked) == 0)
        {
            cell.Uses++;
            // Not revoked after InUse was set: no revoker can take the engine until Exit (see EngineCell).
            engine = Unsafe.As<PredictionEngine<TData, TPrediction>>(cell.PredictionEngine);
            return true;
        }

        Volatile.Write(ref cell.InUse, 0);
        ReleaseRevoked(cell);
        engine = null;
        return false;
    }

    /// <summary>Ends a prediction that <see cref="TryEnter"/> started; gives the engine back when the cell was revoked meanwhile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit(EngineCell cell)
    {
        Volatile.Write(ref cell.InUse, 0);
        if (Volatile.Read(ref cell.Revoked) != 0)
        {
            ReleaseRevoked(cell);
        }
    }

    /// <summary>Ends a prediction that threw: the cell's engine is in an unknown state, so it is dropped with the cell.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Fault(EngineCell cell)
    {
        Volatile.Write(ref cell.Revoked, 1);
        Volatile.Write(ref cell.InUse, 0);
        if (TakeBack(cell) is { } engine)
        {
            Drop(engine);
        }
    }

    /// <summary>
    /// Gives an engine back after a prediction on the slot path: the current thread keeps it in a new cell when it
    /// has none in use and the generation has room, otherwise it goes to the slot <paramref name="slotIndex"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReturnOrKeep(PooledEngine<TData, TPrediction> engine, int slotIndex)
    {
        if (_cells.Length != 0
            && (EngineCell.Get(_factory.PoolIndex) is not { } current || Volatile.Read(ref current.Revoked) != 0 || current.GenerationId < Id)
            && (_reservations < _cells.Length ? TryKeep(engine) : EngineCell.CountMiss() && ReclaimStaleCells() && TryKeep(engine)))
        {
            return;
        }

        Return(engine, slotIndex);
    }

    /// <summary>
    /// Every cell is taken and this thread has none: takes back the cells of threads that died and, at most every
    /// <see cref="IdleScanIntervalMilliseconds"/>, those whose owners made no prediction since the previous scan, so that
    /// threads that come and go (a thread pool retiring its threads) still reach the fast path.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ReclaimStaleCells()
    {
        if (ReclaimCells(idleToo: false))
        {
            return true;
        }

        long now = Environment.TickCount64;
        long next = Volatile.Read(ref _nextIdleScan);
        if (now < next || Interlocked.CompareExchange(ref _nextIdleScan, now + IdleScanIntervalMilliseconds, next) != next)
        {
            return false;
        }

        bool revoke = false;
        EngineCell?[] cells = _cells;
        for (int i = 0; i < cells.Length; i++)
        {
            if (Volatile.Read(ref cells[i]) is not { } cell)
            {
                continue;
            }

            int uses = Volatile.Read(ref cell.Uses);
            if (uses == cell.SeenUses)
            {
                Volatile.Write(ref cell.Revoked, 1);
                revoke = true;
            }
            else
            {
                cell.SeenUses = uses;
            }
        }

        if (!revoke)
        {
            return false;
        }

        Interlocked.MemoryBarrierProcessWide();
        bool any = false;
        for (int i = 0; i < cells.Length; i++)
        {
            if (TakeBackIfIdle(Volatile.Read(ref cells[i])) is { } engine)
            {
                Return(engine);
                any = true;
            }
        }

        return any;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryKeep(PooledEngine<TData, TPrediction> engine)
    {
        if (_retired || Volatile.Read(ref _live) > _maximum)
        {
            return false;
        }

        if (Interlocked.Increment(ref _reservations) > _cells.Length)
        {
            Interlocked.Decrement(ref _reservations);
            return false;
        }

        EngineCell?[] cells = _cells;
        for (int i = 0; i < cells.Length; i++)
        {
            if (Volatile.Read(ref cells[i]) is null)
            {
                var cell = new EngineCell(Id, engine, engine.Engine, i);
                if (Interlocked.CompareExchange(ref cells[i], cell, null) is null)
                {
                    // The exchange is a full fence. A retirement that started before it is seen here; one that
                    // starts after it sees the cell and takes its engine back.
                    if (_retired)
                    {
                        return TakeBack(cell) is null;
                    }

                    EngineCell.Set(_factory.PoolIndex, cell);
                    return true;
                }
            }
        }

        // Every index was taken by cells being replaced at this moment.
        Interlocked.Decrement(ref _reservations);
        return false;
    }

    /// <summary>Takes the engine out of a cell (exactly one caller gets it) and unregisters the cell.</summary>
    private PooledEngine<TData, TPrediction>? TakeBack(EngineCell cell)
    {
        if (Interlocked.Exchange(ref cell.Engine, null) is not { } taken)
        {
            return null;
        }

        if (Interlocked.CompareExchange(ref _cells[cell.Index], null, cell) == cell)
        {
            Interlocked.Decrement(ref _reservations);
        }

        return Unsafe.As<PooledEngine<TData, TPrediction>>(taken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReleaseRevoked(EngineCell cell)
    {
        if (TakeBack(cell) is { } engine)
        {
            // To a slot, or disposed when the generation retired.
            Return(engine);
        }
    }

    /// <summary>Revokes every cell and disposes the engines not in use; engines in use are disposed by their owners at Exit.</summary>
    private void RevokeCellsOnRetire()
    {
        if (RevokeAll())
        {
            EngineCell?[] cells = _cells;
            for (int i = 0; i < cells.Length; i++)
            {
                if (TakeBackIfIdle(Volatile.Read(ref cells[i])) is { } engine)
                {
                    DisposeEngine(engine);
                }
            }
        }
    }

    /// <summary>
    /// Puts back into the slots the engines kept by threads that died and, when <paramref name="idleToo"/>, by every
    /// thread not predicting right now (callers are about to wait for an engine).
    /// </summary>
    /// <returns>Whether any engine went back to the slots.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ReclaimCells(bool idleToo)
    {
        if (Volatile.Read(ref _reservations) == 0)
        {
            return false;
        }

        bool any = false;
        EngineCell?[] cells = _cells;
        for (int i = 0; i < cells.Length; i++)
        {
            // A dead thread writes nothing more: its cell needs no handshake.
            if (Volatile.Read(ref cells[i]) is { } cell && !cell.Owner.IsAlive && Volatile.Read(ref cell.InUse) == 0)
            {
                Volatile.Write(ref cell.Revoked, 1);
                if (TakeBack(cell) is { } engine)
                {
                    Return(engine);
                    any = true;
                }
            }
        }

        if (idleToo && RevokeAll())
        {
            for (int i = 0; i < cells.Length; i++)
            {
                if (TakeBackIfIdle(Volatile.Read(ref cells[i])) is { } engine)
                {
                    Return(engine);
                    any = true;
                }
            }
        }

        return any;
    }

    /// <summary>Marks every registered cell revoked, then makes every thread see it (or be seen using its engine).</summary>
    private bool RevokeAll()
    {
        bool any = false;
        EngineCell?[] cells = _cells;
        for (int i = 0; i < cells.Length; i++)
        {
            if (Volatile.Read(ref cells[i]) is { } cell)
            {
                Volatile.Write(ref cell.Revoked, 1);
                any = true;
            }
        }

        if (any)
        {
            // The other half of the handshake in EngineCell: after this, an owner that had not seen the revocation
            // is seen with InUse set, and one that enters later sees it.
            Interlocked.MemoryBarrierProcessWide();
        }

        return any;
    }

    private PooledEngine<TData, TPrediction>? TakeBackIfIdle(EngineCell? cell) =>
        cell is not null && Volatile.Read(ref cell.Revoked) != 0 && Volatile.Read(ref cell.InUse) == 0 ? TakeBack(cell) : null;

    private bool IsHeldInCell(PooledEngine<TData, TPrediction> engine)
    {
        EngineCell?[] cells = _cells;
        for (int i = 0; i < cells.Length; i++)
        {
            if (Volatile.Read(ref cells[i]) is { } cell && ReferenceEquals(Volatile.Read(ref cell.Engine), engine))
            {
                return true;
            }
        }

        return false;
    }
}
