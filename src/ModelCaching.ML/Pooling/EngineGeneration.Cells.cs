using System.Runtime.CompilerServices;
using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>The engines that threads keep between predictions (see <see cref="EngineCell"/> and <see cref="EngineCells"/>).</summary>
internal sealed partial class EngineGeneration<TData, TPrediction>
{
    // The registered cells; their engines count in _live.
    private readonly EngineCells _cells;

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
        if (_cells.Capacity != 0
            && (EngineCell.Get(_factory.PoolIndex) is not { } current || Volatile.Read(ref current.Revoked) != 0 || current.GenerationId < Id)
            && (_cells.MayHaveRoom ? TryKeep(engine) : EngineCell.CountMiss() && ReclaimStaleCells() && TryKeep(engine)))
        {
            return;
        }

        Return(engine, slotIndex);
    }

    /// <summary>
    /// Every cell is taken and this thread has none: takes back the cells of threads that died and, at most every
    /// <see cref="EngineCells.IdleScanIntervalMilliseconds"/>, those whose owners made no prediction since the previous
    /// scan, so that threads that come and go (a thread pool retiring its threads) still reach the fast path.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ReclaimStaleCells()
    {
        if (ReclaimCells(idleToo: false))
        {
            return true;
        }

        if (!_cells.RevokeQuiet())
        {
            return false;
        }

        bool any = false;
        for (int i = 0; i < _cells.Capacity; i++)
        {
            if (TakeBackIfIdle(i) is { } engine)
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
        if (_retired || Volatile.Read(ref _live) > _maximum || _cells.TryRegister(Id, engine, engine.Engine) is not { } cell)
        {
            return false;
        }

        // The registration is a full fence. A retirement that started before it is seen here; one that starts after it
        // sees the cell and takes its engine back.
        if (_retired)
        {
            return TakeBack(cell) is null;
        }

        EngineCell.Set(_factory.PoolIndex, cell);
        return true;
    }

    private PooledEngine<TData, TPrediction>? TakeBack(EngineCell cell) => Unsafe.As<PooledEngine<TData, TPrediction>?>(_cells.TakeBack(cell));

    private PooledEngine<TData, TPrediction>? TakeBackIfIdle(int index) => Unsafe.As<PooledEngine<TData, TPrediction>?>(_cells.TakeBackIfIdle(index));

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
        if (_cells.RevokeAll())
        {
            for (int i = 0; i < _cells.Capacity; i++)
            {
                if (TakeBackIfIdle(i) is { } engine)
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
        if (!_cells.Any)
        {
            return false;
        }

        bool any = false;
        for (int i = 0; i < _cells.Capacity; i++)
        {
            if (_cells.TakeBackIfOwnerDied(i) is { } engine)
            {
                Return(Unsafe.As<PooledEngine<TData, TPrediction>>(engine));
                any = true;
            }
        }

        if (idleToo && _cells.RevokeAll())
        {
            for (int i = 0; i < _cells.Capacity; i++)
            {
                if (TakeBackIfIdle(i) is { } engine)
                {
                    Return(engine);
                    any = true;
                }
            }
        }

        return any;
    }
}
