using System.Runtime.CompilerServices;

namespace ModelCaching.Generations;

/// <summary>
/// Makes a <see cref="ModelLease{TModel}"/> end at most once, even though the lease is a struct that can be copied
/// and disposed twice. A lease carries a ticket and the ticket's stamp at the time the lease was taken; ending the
/// lease moves the stamp on with one compare-and-swap, so a second <c>Dispose</c> of the same lease (or of a copy of
/// it) sees another stamp and does nothing, instead of releasing a reference that belongs to another holder.
/// </summary>
/// <remarks>
/// Tickets are reused through one spare slot per thread, so taking and ending a lease on one thread allocates nothing.
/// A ticket already reused by a later lease has moved its stamp on, so a stale copy of an earlier lease still finds a
/// mismatch. (A stale copy could only match again after 2³² reuses of the same ticket.)
/// </remarks>
internal sealed class LeaseTicket
{
    [ThreadStatic]
    private static LeaseTicket? t_spare;

    private int _stamp;

    /// <summary>The stamp a new lease on this ticket carries.</summary>
    public int Stamp => _stamp;

    /// <summary>Takes the calling thread's spare ticket, or a new one when it has none (a lease already held on this thread).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LeaseTicket Rent()
    {
        LeaseTicket? spare = t_spare;
        if (spare is not null)
        {
            t_spare = null;
            return spare;
        }

        return new LeaseTicket();
    }

    /// <summary>Ends the lease stamped <paramref name="stamp"/>: true once, false for every later call with the same stamp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnd(int stamp)
    {
        if (Interlocked.CompareExchange(ref _stamp, unchecked(stamp + 1), stamp) != stamp)
        {
            return false;
        }

        // Keep it as this thread's spare; when the thread already has one, this ticket is left to the GC.
        t_spare ??= this;
        return true;
    }
}
