namespace ModelCaching.Generations;

/// <summary>
/// Makes a counted <see cref="ModelLease{TModel}"/> (one reference on its generation's count) end at most once, even
/// though the lease is a struct that can be copied and disposed twice, also from two threads at the same instant: one
/// exchange lets exactly one Dispose through.
/// </summary>
/// <remarks>
/// A new ticket (24 bytes) per counted lease. Counted leases are the rare ones: a lease taken on a miss (the first load),
/// just after a swap, or by a thread that already holds <see cref="LeasePins.PinsPerRow"/> leases; the usual lease is a
/// pin (<see cref="LeasePins"/>) and allocates nothing. Not reused, so a stale copy of an ended lease can never match a
/// later lease's ticket.
/// </remarks>
internal sealed class LeaseTicket
{
    private int _ended;

    /// <summary>Whether the lease has ended.</summary>
    public bool IsEnded => Volatile.Read(ref _ended) != 0;

    /// <summary>Ends the lease: true once, false for every later call.</summary>
    public bool TryEnd() => Interlocked.Exchange(ref _ended, 1) == 0;
}
