using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelCaching.Diagnostics;

/// <summary>
/// The process-wide storage of every <see cref="StackRegionCounter"/>: one row of counts per thread stack region, and
/// in each row one count per counter (the counter's slot). A model's count is the sum of its slot over the rows.
/// </summary>
/// <remarks>
/// <para>
/// Why rows per region rather than cells per counter: a counter that owns a padded cell for every thread (or core) that
/// may hit it costs kilobytes per model, 8 KB on 2 cores and 64 KB on 64 before this layout, for every template name a
/// service ever saw. Here a model costs 4 bytes in each row that reaches its slot, whatever the number of cores, and a
/// hit still writes only a line that no other thread writes: a row has one writer, the thread whose stack holds its
/// region, and its counts are padded off the objects around it.
/// </para>
/// <para>
/// Why 32-bit counts: every thread that hits any model gets a row that reaches every slot, so a model costs one count per
/// such thread (64 on a busy 64-core server: 256 bytes with 32-bit counts, 512 with 64-bit ones). A count that would wrap
/// carries 2^32 into its counter (<see cref="StackRegionCounter"/>), once per 4 billion hits of one thread.
/// </para>
/// <para>
/// Regions are claimed for good, as the cells of a counter were: the rows of threads that ended keep their counts (a
/// later thread whose stack reuses the region continues them). Slots of collected counters are reused; a counter on a
/// reused slot starts from the counts its predecessor left (its baseline), since nothing increments that slot any more.
/// </para>
/// </remarks>
internal static class HitCountRows
{
    // 16 KiB regions: far smaller than any thread stack .NET creates (256 KiB at least, 1.5 MiB by default on Linux).
    public const int RegionShift = 14;

    // Counts in a row start after, and end before, 128 bytes (32 counts) that nothing writes: no other object's line
    // (another row's header, which its own thread reads on every hit) shares a line with a count, with the adjacent line
    // that the x64 prefetcher pairs with it free as well.
    public const int Pad = 32;

    // How far from its home entry a region looks for its own entry, or a free one to claim.
    private const int Probes = 16;

    // 16 B an entry, written only when a region claims it or its row grows, so hits only read these lines.
    private static readonly Entry[] s_entries = new Entry[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1024, Environment.ProcessorCount * 64))];
    private static readonly int s_mask = s_entries.Length - 1;
    private static readonly Lock s_lock = new();
    private static readonly Stack<int> s_freeSlots = new();

    // The indexes of claimed entries, for sums (copied on write under s_lock; a region claims once).
    private static int[] s_claimed = [];
    private static int s_slotCount;

    /// <summary>The entry of the home of <paramref name="region"/> (which may belong to another region).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref Entry HomeEntry(nint region) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s_entries), (int)region & s_mask);

    /// <summary>Gives a new counter a slot, and the counts already in it (left by a collected counter).</summary>
    public static int ClaimSlot(out long baseline)
    {
        lock (s_lock)
        {
            int slot = s_freeSlots.Count > 0 ? s_freeSlots.Pop() : s_slotCount++;
            baseline = SumOfSlot(Pad + slot);
            return slot;
        }
    }

    /// <summary>Gives the slot of a collected counter back; nothing increments it any more.</summary>
    public static void ReleaseSlot(int slot)
    {
        lock (s_lock)
        {
            s_freeSlots.Push(slot);
        }
    }

    /// <summary>The counts at <paramref name="index"/> over every row.</summary>
    public static long SumOfSlot(int index)
    {
        long sum = 0;
        Entry[] entries = s_entries;
        foreach (int e in Volatile.Read(ref s_claimed))
        {
            uint[]? row = Volatile.Read(ref entries[e].Row);
            if (row is not null && index < row.Length - Pad)
            {
                sum += Volatile.Read(ref row[index]);
            }
        }

        return sum;
    }

    /// <summary>
    /// The count at <paramref name="index"/> in the row of <paramref name="region"/>, the caller's own stack region,
    /// when the fast path did not find it: the region's entry is not its home, or is not claimed yet, or its row is too
    /// short. A null reference when no entry near its home is free: the caller counts elsewhere.
    /// </summary>
    public static ref uint FindCountSlow(nint region, int index)
    {
        Entry[] entries = s_entries;
        int home = (int)region & s_mask;
        for (int probe = 0; probe < Probes; probe++)
        {
            int e = (home + probe) & s_mask;
            ref Entry entry = ref entries[e];
            nint owner = Volatile.Read(ref entry.Region);
            if (owner == 0)
            {
                owner = Claim(e, region);
            }

            if (owner == region)
            {
                uint[] row = entry.Row!;
                if (index >= row.Length - Pad)
                {
                    row = Grow(ref entry, row, index);
                }

                return ref row[index];
            }
        }

        return ref Unsafe.NullRef<uint>();
    }

    private static nint Claim(int e, nint region)
    {
        lock (s_lock)
        {
            ref Entry entry = ref s_entries[e];
            if (entry.Region != 0)
            {
                return entry.Region;
            }

            // The row before the region: whoever sees the region as claimed finds its row.
            entry.Row = new uint[Pad + RowCapacity(0) + Pad];
            Volatile.Write(ref entry.Region, region);
            Volatile.Write(ref s_claimed, [.. s_claimed, e]);
            return region;
        }
    }

    // Only the region's own thread grows its row, so no count is lost: it copies, publishes, and counts in the new row.
    private static uint[] Grow(ref Entry entry, uint[] row, int index)
    {
        var grown = new uint[Pad + RowCapacity(index - Pad + 1) + Pad];
        Array.Copy(row, grown, row.Length - Pad);
        Volatile.Write(ref entry.Row, grown);
        return grown;
    }

    // Room for every slot given out so far (a thread that hits many models grows its row once) and a quarter more for
    // the next, in whole 64-byte lines: rows grow by a quarter rather than doubling, so a row holds at most a quarter
    // more than the counters that exist, not up to twice as many.
    private static int RowCapacity(int atLeast)
    {
        int needed = Math.Max(atLeast, Volatile.Read(ref s_slotCount));
        return (needed + (needed / 4) + 16) & ~15;
    }

    /// <summary>A region and its row.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Entry
    {
        public nint Region;
        public uint[]? Row;
    }
}
