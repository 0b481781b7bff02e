using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelCaching.Generations;

/// <summary>
/// Makes a <see cref="ModelLease{TModel}"/> end at most once, even though the lease is a struct that can be copied
/// and disposed twice. A lease carries a ticket and the ticket's stamp at the time the lease was taken; ending the
/// lease moves the stamp on, so a second <c>Dispose</c> of the same lease (or of a copy of it) sees another stamp and
/// does nothing, instead of releasing a reference that belongs to another holder.
/// </summary>
/// <remarks>
/// <para>
/// Tickets are reused, so taking and ending a lease allocates nothing. The spare tickets sit in a table indexed by
/// the stack region of the calling thread (as in <see cref="Diagnostics.StackRegionCounter"/>): finding this thread's
/// spare costs an address and a compare, where a thread-static would cost a call into the C library's TLS lookup on
/// Linux (≈2 ns, twice per lease). Only the thread whose stack holds a region uses its slot, so the slot needs no
/// atomic operation; a region whose home slot another region took uses one of the next few. A thread holding several
/// leases at once, ending a lease in another region than the one it took it in (another thread, or a frame 16 KiB
/// deeper), or finding every nearby slot taken, allocates a ticket (24 bytes) for that lease instead.
/// </para>
/// <para>
/// The stamp is moved with one compare-and-swap, so exactly one of any number of Disposes on copies of one lease ends
/// it, even when two threads dispose at the same instant; the others do nothing. They do not throw: which of two racing
/// Disposes wins cannot be told from outside, and <see cref="IDisposable.Dispose"/> must tolerate repeats. The
/// compare-and-swap is on the ticket, whose line only the lease's own thread writes in the common case, so it is
/// uncontended; what it costs a lease is in docs/benchmarks.md ("A lease disposed from two threads at once").
/// </para>
/// <para>
/// A ticket reused by a later lease has moved its stamp on, so a stale copy of an earlier lease still finds a
/// mismatch. (A stale copy could only match again after 2³² reuses of the same ticket.)
/// </para>
/// </remarks>
internal sealed class LeaseTicket
{
    private const int RegionShift = 14;
    private const int SpareCount = 512;
    private const int Probes = 8;

    private static readonly Spare[] s_spares = new Spare[SpareCount];

    private int _stamp;

    /// <summary>The stamp a new lease on this ticket carries.</summary>
    public int Stamp => Volatile.Read(ref _stamp);

    /// <summary>Takes the spare ticket of the calling thread's stack region, or a new one when there is none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LeaseTicket Rent()
    {
        ref Spare spare = ref SpareOfThisStackRegion(out nint region);

        // The ticket is read before the owner (acquire reads, free on x64): a slot taken over by another region has
        // its owner written before its ticket, so a ticket read here that is not this region's is never taken.
        LeaseTicket? ticket = Volatile.Read(ref spare.Ticket);
        if (ticket is not null && Volatile.Read(ref spare.Region) == region)
        {
            spare.Ticket = null;
            return ticket;
        }

        return RentFromNearbySlot(region);
    }

    /// <summary>Ends the lease stamped <paramref name="stamp"/>: true once, false for every later call with the same stamp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnd(int stamp)
    {
        // One compare-and-swap: of two Disposes racing on copies of one lease, exactly one moves the stamp on and
        // releases the pin; the other (and any later one, or a stale copy after the ticket was reused) sees another stamp.
        if (Interlocked.CompareExchange(ref _stamp, unchecked(stamp + 1), stamp) != stamp)
        {
            return false;
        }

        ref Spare spare = ref SpareOfThisStackRegion(out nint region);
        if (spare.Region == region)
        {
            // Keep it as this region's spare; one already there is replaced and left to the GC.
            spare.Ticket = this;
        }
        else
        {
            KeepInNearbySlot(region, this);
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref Spare SpareOfThisStackRegion(out nint region)
    {
        byte marker = 0;
        region = Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref marker) >> RegionShift;
        return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s_spares), (int)region & (SpareCount - 1));
    }

    // The home slot belongs to another region: look in the next few slots for this region's own.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static LeaseTicket RentFromNearbySlot(nint region)
    {
        for (int probe = 1; probe < Probes; probe++)
        {
            ref Spare spare = ref s_spares[((int)region + probe) & (SpareCount - 1)];
            if (spare.Region == region)
            {
                LeaseTicket? ticket = spare.Ticket;
                if (ticket is not null)
                {
                    spare.Ticket = null;
                    return ticket;
                }

                break;
            }
        }

        return new LeaseTicket();
    }

    // Keep the ticket in this region's slot among the next few, claiming a free one (once per region) if it has none.
    // When every nearby slot belongs to another region, this region takes over its home slot: threads at the same depth
    // of their stacks share home slots (stacks are megabytes apart), and regions of threads that ended never give theirs
    // back, so without taking over, a new thread would allocate a ticket per lease for good.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void KeepInNearbySlot(nint region, LeaseTicket ticket)
    {
        for (int probe = 0; probe < Probes; probe++)
        {
            ref Spare spare = ref s_spares[((int)region + probe) & (SpareCount - 1)];
            nint owner = Volatile.Read(ref spare.Region);
            if (owner == 0)
            {
                owner = Interlocked.CompareExchange(ref spare.Region, region, 0);
                if (owner == 0)
                {
                    owner = region;
                }
            }

            if (owner == region)
            {
                spare.Ticket = ticket;
                return;
            }
        }

        // Take over the home slot. The ticket it held is dropped, never used: its owner may be reading it right now
        // (the owner's path is plain reads and writes), and it either takes it first or finds the slot no longer its own.
        ref Spare home = ref s_spares[(int)region & (SpareCount - 1)];
        nint previous = Volatile.Read(ref home.Region);
        if (Interlocked.CompareExchange(ref home.Region, region, previous) == previous)
        {
            Interlocked.Exchange(ref home.Ticket, ticket);
        }
    }

    // One slot per 64 bytes (a cache line) so that threads of other regions never write the same line.
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    private struct Spare
    {
        [FieldOffset(0)]
        public nint Region;

        [FieldOffset(8)]
        public LeaseTicket? Ticket;
    }
}
