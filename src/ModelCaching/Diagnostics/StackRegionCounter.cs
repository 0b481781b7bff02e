using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelCaching.Diagnostics;

/// <summary>
/// An exact hit counter whose increment reads no thread-local storage and no processor id, and writes no shared
/// cache line: the cell is chosen by the calling thread's stack address.
/// </summary>
/// <remarks>
/// <para>
/// Why: on Linux x64 a thread-static read is a call into the C library's TLS lookup, and
/// <see cref="Thread.GetCurrentProcessorId"/> is one more (≈3.6 ns per hit on a small VM). The address of a local
/// variable costs nothing and says which thread runs: every thread has its own stack, and two live threads never share
/// one. The counter splits the address space into 16 KiB regions; a cell belongs to one region (its tag), so only the
/// thread whose stack holds that region writes it, with a plain increment that can lose nothing. A region at the
/// edge of a stack can also hold the last 16 KiB of the stack next to it, so two threads could share a cell only
/// while one of them runs within 16 KiB of overflowing its stack; a hit from such a frame could then be lost.
/// </para>
/// <para>
/// A thread that ends leaves its count in its cell; a later thread whose stack reuses the region continues it, so
/// counts of ended threads are kept and dead threads need no clean-up. Regions that collide in the table probe the
/// next cells; when every cell is taken (more threads than cells), hits go to an interlocked cell per core: exact, a few
/// nanoseconds slower, and still no line shared by all cores, so a host with many threads never funnels its hits into one.
/// </para>
/// </remarks>
internal sealed class StackRegionCounter
{
    // 16 KiB regions: far smaller than any thread stack .NET creates (256 KiB at least, 1.5 MiB by default on Linux).
    private const int RegionShift = 14;

    private readonly Cell[] _cells;
    private readonly int _mask;
    private readonly Cell[] _overflow;
    private readonly int _overflowMask;

    public StackRegionCounter()
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(64, Environment.ProcessorCount * 8));
        _cells = new Cell[size];
        _mask = size - 1;
        int cores = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Environment.ProcessorCount));
        _overflow = new Cell[cores];
        _overflowMask = cores - 1;
    }

    /// <summary>Adds one in the cell of the calling thread's stack region: an address, a shift, a tag compare and a plain increment.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment()
    {
        byte marker = 0;
        nint region = Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref marker) >> RegionShift;
        // The mask keeps the index inside the array, so no bounds check is needed.
        ref Cell cell = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_cells), (int)region & _mask);
        if (cell.Region == region)
        {
            cell.Value++;
            return;
        }

        IncrementInOtherCell(region);
    }

    /// <summary>The total over all cells: exact for every increment that happened before the call.</summary>
    public long Sum()
    {
        long sum = 0;
        foreach (Cell[] cells in (ReadOnlySpan<Cell[]>)[_cells, _overflow])
        {
            for (int i = 0; i < cells.Length; i++)
            {
                sum += Volatile.Read(ref cells[i].Value);
            }
        }

        return sum;
    }

    // First hit of a region, or a region whose home cell another region took: probe, claim a free cell, or overflow.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void IncrementInOtherCell(nint region)
    {
        Cell[] cells = _cells;
        int start = (int)region & _mask;
        for (int probe = 0; probe < cells.Length; probe++)
        {
            ref Cell cell = ref cells[(start + probe) & _mask];
            nint tag = Volatile.Read(ref cell.Region);
            if (tag == 0)
            {
                tag = Interlocked.CompareExchange(ref cell.Region, region, 0);
                if (tag == 0)
                {
                    tag = region;
                }
            }

            if (tag == region)
            {
                cell.Value++;
                return;
            }
        }

        // More threads than cells: count on this core's overflow cell, interlocked because threads of one core share it.
        Interlocked.Increment(ref _overflow[Thread.GetCurrentProcessorId() & _overflowMask].Value);
    }

    // One cell per 128 bytes: the tag and the count share a line that no other cell's writer touches, with the
    // adjacent line (which the x64 prefetcher pairs with it) free as well.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Cell
    {
        [FieldOffset(0)]
        public nint Region;

        [FieldOffset(8)]
        public long Value;
    }
}
