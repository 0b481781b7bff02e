using System.Runtime.CompilerServices;

namespace ModelCaching.Generations;

/// <summary>
/// The lease's fast path: a row of pins that belongs to exactly one live thread, found through a <c>[ThreadStatic]</c>.
/// Taking a lease writes a free pin of the calling thread's own row (a plain store); ending it, from any thread, moves
/// the pin's stamp on with one compare-and-swap. No shared reference count is written, so a lease costs one interlocked
/// operation instead of three, and two threads taking leases on one model never write the same cache line.
/// </summary>
/// <remarks>
/// <para>
/// Ownership: only the row's owner thread ever turns a free pin into a taken one, and it does so with a plain store, so
/// the row must never have two live owners. A row is given to a thread under a lock, and only to a new thread or in place
/// of a thread that has ended (<see cref="Thread.IsAlive"/> is false: it runs no more code). That is why this is not the
/// core's stack-region table (<c>HitCountRows</c>) nor a processor id: both can map two live threads to one slot, and a
/// plain store from one would overwrite the other's pin (a model disposed under a lease). Every other writer (a Dispose
/// on any thread, a stale copy of a lease) uses a compare-and-swap that can only match a pin its lease took.
/// </para>
/// <para>
/// A pin is a hazard pointer. A lease is valid when its pin was stored before the generation was retired, so the taker
/// stores its pin and then reads the retired flag (volatile write then volatile read: the JIT keeps that order), and the
/// retiring side sets the flag and then, before it looks for pins, runs <see cref="Interlocked.MemoryBarrierProcessWide"/>:
/// every thread's pending store is then visible to the scan, or that thread's later read sees the flag and gives its pin
/// back. The costly barrier runs only where a retired generation may be disposed, never on a lease.
/// </para>
/// <para>
/// A pin is <c>stamp &lt;&lt; 32 | generation pin id</c>, id 0 meaning free. Ending a lease moves the stamp on and frees the
/// pin in one compare-and-swap, so of two Disposes of copies of one lease exactly one wins, and a stale copy sees another
/// word. (A stale copy could only match again after 2³² leases on the same pin, the last on the same generation.) A
/// thread holding <see cref="PinsPerRow"/> leases at once takes further ones as counted leases (a shared reference count
/// and a <see cref="LeaseTicket"/>).
/// </para>
/// </remarks>
internal sealed class LeasePins
{
    /// <summary>Leases one thread can hold at once on pins; more are counted leases.</summary>
    public const int PinsPerRow = 4;

    // The pins sit in the middle of the row: 64 bytes before and 96 after that nothing writes, so no other object's line
    // (another thread's row, allocated next to this one) shares a line with a pin.
    private const int Before = 8;

    [ThreadStatic]
    private static LeasePins? t_row;

    private static readonly Lock s_lock = new();

    // Every row ever made (copied on write under s_lock; rows are recycled, never removed), for the retiring side's scan.
    private static LeasePins[] s_rows = [];

    // The last pin id given out, process-wide: pins of every generation of every model share the rows.
    private static int s_lastPinId;

    private Words _words;

    // The thread that owns the row; replaced (under s_lock) only once it has ended.
    private Thread _owner;

    private LeasePins(Thread owner) => _owner = owner;

    /// <summary>The calling thread's row, or <see langword="null"/> before its first lease (<see cref="OfThisThreadSlow"/>).</summary>
    public static LeasePins? OfThisThread
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_row;
    }

    /// <summary>Rows in the process (threads that took a lease, at most the peak number alive at once).</summary>
    public static int RowCount => Volatile.Read(ref s_rows).Length;

    /// <summary>A new generation's pin id: unique among live generations (it wraps after 2³² generations), never 0.</summary>
    public static uint NextPinId()
    {
        uint id = (uint)Interlocked.Increment(ref s_lastPinId);
        return id != 0 ? id : (uint)Interlocked.Increment(ref s_lastPinId);
    }

    /// <summary>The calling thread's row: its own, a row of a thread that has ended, or a new one.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static LeasePins OfThisThreadSlow()
    {
        LeasePins? row = t_row;
        if (row is not null)
        {
            return row;
        }

        Thread thread = Thread.CurrentThread;
        lock (s_lock)
        {
            foreach (LeasePins candidate in s_rows)
            {
                // An ended thread stores nothing any more; leases it took and passed on may still hold some of the
                // row's pins, and stay valid: the new owner only takes pins that are free.
                if (!candidate._owner.IsAlive)
                {
                    candidate._owner = thread;
                    row = candidate;
                    break;
                }
            }

            if (row is null)
            {
                row = new LeasePins(thread);
                Volatile.Write(ref s_rows, [.. s_rows, row]);
            }
        }

        t_row = row;
        return row;
    }

    /// <summary>Whether any lease pins the generation <paramref name="pinId"/>. Call after <see cref="Interlocked.MemoryBarrierProcessWide"/>.</summary>
    public static bool IsPinned(uint pinId) => Count(pinId, stopAtFirst: true) != 0;

    /// <summary>Leases pinning the generation <paramref name="pinId"/> right now (a snapshot).</summary>
    public static int Count(uint pinId) => Count(pinId, stopAtFirst: false);

    /// <summary>Pin <paramref name="index"/> (0 to <see cref="PinsPerRow"/> − 1). Only the owner thread may store into a free pin.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref long Pin(int index) => ref Unsafe.Add(ref Unsafe.As<Words, long>(ref _words), Before + index);

    /// <summary>Ends the lease stamped <paramref name="stamp"/> on pin <paramref name="index"/>: true once, false for every later call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnd(int index, int stamp, uint pinId)
    {
        long taken = ((long)stamp << 32) | pinId;
        return Interlocked.CompareExchange(ref Pin(index), (long)unchecked(stamp + 1) << 32, taken) == taken;
    }

    /// <summary>Whether the lease stamped <paramref name="stamp"/> on pin <paramref name="index"/> has not ended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsHeld(int index, int stamp, uint pinId) => Volatile.Read(ref Pin(index)) == (((long)stamp << 32) | pinId);

    private static int Count(uint pinId, bool stopAtFirst)
    {
        int count = 0;
        foreach (LeasePins row in Volatile.Read(ref s_rows))
        {
            for (int i = 0; i < PinsPerRow; i++)
            {
                if ((uint)Volatile.Read(ref row.Pin(i)) == pinId)
                {
                    count++;
                    if (stopAtFirst)
                    {
                        return count;
                    }
                }
            }
        }

        return count;
    }

    // 24 words: 8 of padding, the pins, and padding to the end.
    [InlineArray(24)]
    private struct Words
    {
        private long _element;
    }
}
