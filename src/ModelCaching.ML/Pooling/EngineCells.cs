namespace ModelCaching.ML;

/// <summary>
/// The cells of one generation: which threads keep one of its engines (<see cref="EngineCell"/>), bounded, and the
/// revoker's side of the handshake that takes an engine back from a thread. Written when a thread gets a cell or loses
/// it, never per prediction. It hands engines back as objects; what becomes of them (a slot, disposal) is the
/// generation's call.
/// </summary>
internal sealed class EngineCells
{
    // How often, at most, a scan may revoke cells whose owners went quiet (it costs a process-wide barrier). It was a
    // second: a thread-pool thread that predicted once and went quiet then held its cell for 1–2 s while a busy thread
    // paid the slots on every call (the outside throughput loop on Task.Run measured 2 threads at 0.8× raw over 2 s
    // rounds). At 50 ms the busy thread gets the cell within 0.1 s, and barriers stay under 20 a second.
    internal const long IdleScanIntervalMilliseconds = 50;

    // The registered cells, each at its own index.
    private readonly EngineCell?[] _cells;

    // Where the cells' counts of hits are summed, across the pool's generations.
    private readonly PoolHitCounts _hitCounts;
    private int _reservations;

    // When the next scan may revoke cells whose owners went quiet.
    private long _nextIdleScan;

    public EngineCells(int capacity, PoolHitCounts hitCounts)
    {
        _cells = new EngineCell?[capacity];
        _hitCounts = hitCounts;
    }

    /// <summary>How many cells the generation allows.</summary>
    public int Capacity => _cells.Length;

    /// <summary>Whether a cell may be free (a plain read: a hint for the caller, <see cref="TryRegister"/> decides).</summary>
    public bool MayHaveRoom => _reservations < _cells.Length;

    /// <summary>Whether any cell is registered or being registered.</summary>
    public bool Any => Volatile.Read(ref _reservations) != 0;

    /// <summary>
    /// Registers a new cell of the current thread holding <paramref name="engine"/>; <see langword="null"/> when every
    /// cell is taken. The registration is a full fence, so a retirement that starts after it sees the cell.
    /// </summary>
    public EngineCell? TryRegister(long generationId, object engine, object predictionEngine)
    {
        if (Interlocked.Increment(ref _reservations) > _cells.Length)
        {
            Interlocked.Decrement(ref _reservations);
            return null;
        }

        EngineCell?[] cells = _cells;
        for (int i = 0; i < cells.Length; i++)
        {
            if (Volatile.Read(ref cells[i]) is null)
            {
                var cell = new EngineCell(generationId, engine, predictionEngine, i);
                _hitCounts.Track(cell);
                if (Interlocked.CompareExchange(ref cells[i], cell, null) is null)
                {
                    return cell;
                }

                _hitCounts.Fold(cell);
            }
        }

        // Every index was taken by cells being replaced at this moment.
        Interlocked.Decrement(ref _reservations);
        return null;
    }

    /// <summary>Takes the engine out of a cell (exactly one caller gets it) and unregisters the cell.</summary>
    public object? TakeBack(EngineCell cell)
    {
        if (Interlocked.Exchange(ref cell.Engine, null) is not { } taken)
        {
            return null;
        }

        // The owner enters a cell taken back no more (it was revoked, and seen idle, or is the caller): its count is final.
        _hitCounts.Fold(cell);

        if (Interlocked.CompareExchange(ref _cells[cell.Index], null, cell) == cell)
        {
            Interlocked.Decrement(ref _reservations);
        }

        return taken;
    }

    /// <summary>The engine of the cell at <paramref name="index"/> if the cell is revoked and its owner is not predicting.</summary>
    public object? TakeBackIfIdle(int index) =>
        Volatile.Read(ref _cells[index]) is { } cell && Volatile.Read(ref cell.Revoked) != 0 && Volatile.Read(ref cell.InUse) == 0 ? TakeBack(cell) : null;

    /// <summary>The engine of the cell at <paramref name="index"/> if its owner died (a dead thread writes nothing more: no handshake).</summary>
    public object? TakeBackIfOwnerDied(int index)
    {
        if (Volatile.Read(ref _cells[index]) is { } cell && !cell.Owner.IsAlive && Volatile.Read(ref cell.InUse) == 0)
        {
            Volatile.Write(ref cell.Revoked, 1);
            return TakeBack(cell);
        }

        return null;
    }

    /// <summary>Marks every registered cell revoked, then makes every thread see it (or be seen using its engine).</summary>
    /// <returns>Whether any cell was registered.</returns>
    public bool RevokeAll()
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

    /// <summary>
    /// At most every <see cref="IdleScanIntervalMilliseconds"/>: revokes the cells whose owners made no prediction since
    /// the previous scan, and makes every owner see it (as <see cref="RevokeAll"/>).
    /// </summary>
    /// <returns>Whether any cell was revoked (take the idle ones back with <see cref="TakeBackIfIdle"/>).</returns>
    public bool RevokeQuiet()
    {
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

            long uses = Volatile.Read(ref cell.Uses);
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

        if (revoke)
        {
            Interlocked.MemoryBarrierProcessWide();
        }

        return revoke;
    }

    /// <summary>Whether a cell holds <paramref name="engine"/> now.</summary>
    public bool Holds(object engine)
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
