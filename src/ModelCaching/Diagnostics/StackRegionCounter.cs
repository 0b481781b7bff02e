using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelCaching.Diagnostics;

/// <summary>
/// An exact hit counter whose increment reads no thread-local storage and no processor id, and writes no shared
/// cache line: the count is kept in the row of the calling thread's stack region (<see cref="HitCountRows"/>), at
/// this counter's slot. A counter itself is a few dozen bytes, whatever the number of cores.
/// </summary>
/// <remarks>
/// <para>
/// Why: on Linux x64 a thread-static read is a call into the C library's TLS lookup, and
/// <see cref="Thread.GetCurrentProcessorId"/> is one more (≈3.6 ns per hit on a small VM). The address of a local
/// variable costs nothing and says which thread runs: every thread has its own stack, and two live threads never share
/// one. The address space is split into 16 KiB regions; a row belongs to one region, so only the thread whose stack
/// holds that region writes it, with a plain increment that can lose nothing. A region at the edge of a stack can also
/// hold the last 16 KiB of the stack next to it, so two threads could share a row only while one of them runs within
/// 16 KiB of overflowing its stack; a hit from such a frame could then be lost.
/// </para>
/// <para>
/// A region whose nearby entries are all claimed by others (thousands of stacks, live or ended) counts on this counter's
/// own interlocked overflow count: exact, a few nanoseconds slower, and shared by that region's threads only.
/// </para>
/// <para>
/// Counts in a row are 32-bit: a count about to wrap carries 2^32 into <c>_carried</c> instead, under this counter's
/// monitor, and <see cref="Sum"/> takes the same monitor, so no sum sees a carry half done. That is once per 4 billion
/// hits of one thread; hits that do not carry never take it.
/// </para>
/// </remarks>
internal sealed class StackRegionCounter
{
    // Hits counted elsewhere and added to this counter's sum (a prediction pool counts its own per thread, see
    // IHitSource). Kept beside the counters rather than in a field: most counters have none, and a field would cost every
    // model 8 bytes. Written and read under the counter's monitor.
    private static readonly ConditionalWeakTable<StackRegionCounter, IHitSource[]> s_sources = new();

    // Pad + slot: where this counter's count sits in every row.
    private readonly int _index;
    private readonly long _baseline;
    private long _overflow;

    // 2^32 for every row count of this counter that wrapped, and the hits of sources that left; written and read under lock (this).
    private long _carried;

    public StackRegionCounter()
    {
        _index = HitCountRows.Pad + HitCountRows.ClaimSlot(out _baseline);
    }

    // Nothing can increment a counter that is being finalized (it is unreachable), so its slot can be reused.
    ~StackRegionCounter() => HitCountRows.ReleaseSlot(_index - HitCountRows.Pad);

    /// <summary>Adds one in the row of the calling thread's stack region: an address, a shift, a tag compare, a length compare and a plain increment.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment()
    {
        byte marker = 0;
        nint region = Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref marker) >> HitCountRows.RegionShift;
        ref HitCountRows.Entry entry = ref HitCountRows.HomeEntry(region);
        uint[]? row = entry.Row;
        int index = _index;

        // A row is never null once its region is set, and the region is only ever this thread's own.
        if (entry.Region == region && (uint)index < (uint)(row!.Length - HitCountRows.Pad))
        {
            // The compare above keeps the index inside the row, so no second bounds check.
            ref uint count = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(row), index);
            uint value = count;
            if (value != uint.MaxValue)
            {
                count = value + 1;
            }
            else
            {
                Carry(ref count, 1);
            }
        }
        else
        {
            IncrementInOtherRow(region);
        }

        // This counter stays reachable until its count has landed: its slot is reused only after it is finalized.
        GC.KeepAlive(this);
    }

    /// <summary>
    /// Hits counted outside the counter, by a part that has a cheaper place to count them (a prediction pool's per-thread
    /// engine cells); the counter's <see cref="Sum"/> adds them. Read under the counter's monitor.
    /// </summary>
    internal interface IHitSource
    {
        /// <summary>Every hit counted so far; never decreases.</summary>
        long Hits { get; }
    }

    /// <summary>Hits counted on the interlocked overflow count (regions that found no entry of their own).</summary>
    internal long OverflowCount => Volatile.Read(ref _overflow);

    /// <summary>The total over all rows: exact for every increment that happened before the call.</summary>
    public long Sum()
    {
        // The monitor of this internal object, which nothing else locks: a lock object would cost every model 24 bytes
        // more for a lock taken once per 4 billion hits of a thread.
        lock (this)
        {
            long sum = HitCountRows.SumOfSlot(_index) - _baseline + Volatile.Read(ref _overflow) + _carried;
            if (s_sources.TryGetValue(this, out IHitSource[]? sources))
            {
                foreach (IHitSource source in sources)
                {
                    sum += source.Hits;
                }
            }

            return sum;
        }
    }

    /// <summary>Adds <paramref name="source"/>'s hits to every later <see cref="Sum"/>, until <see cref="RemoveSource"/>.</summary>
    public void AddSource(IHitSource source)
    {
        lock (this)
        {
            s_sources.AddOrUpdate(this, s_sources.TryGetValue(this, out IHitSource[]? sources) ? [.. sources, source] : [source]);
        }
    }

    /// <summary>
    /// Stops reading <paramref name="source"/>, and keeps the hits it counted (they stay in the sum, as if counted here),
    /// so a sum never goes down when a source leaves.
    /// </summary>
    public void RemoveSource(IHitSource source)
    {
        lock (this)
        {
            if (s_sources.TryGetValue(this, out IHitSource[]? sources) && Array.IndexOf(sources, source) >= 0)
            {
                _carried += source.Hits;
                IHitSource[] rest = [.. sources.Where(s => !ReferenceEquals(s, source))];
                if (rest.Length == 0)
                {
                    s_sources.Remove(this);
                }
                else
                {
                    s_sources.AddOrUpdate(this, rest);
                }
            }
        }
    }

    /// <summary>Adds <paramref name="hits"/> in the calling thread's row, as that many increments would (tests start a count near its wrap).</summary>
    internal void AddOnThisThread(uint hits)
    {
        byte marker = 0;
        nint region = Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref marker) >> HitCountRows.RegionShift;
        ref uint count = ref HitCountRows.FindCountSlow(region, _index);
        if (Unsafe.IsNullRef(ref count))
        {
            Interlocked.Add(ref _overflow, hits);
        }
        else if (count <= uint.MaxValue - hits)
        {
            count += hits;
        }
        else
        {
            Carry(ref count, hits);
        }

        GC.KeepAlive(this);
    }

    // First hit of a region, a region whose home entry another region took, or a row that does not reach this slot yet.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void IncrementInOtherRow(nint region)
    {
        ref uint count = ref HitCountRows.FindCountSlow(region, _index);
        if (Unsafe.IsNullRef(ref count))
        {
            Interlocked.Increment(ref _overflow);
        }
        else if (count != uint.MaxValue)
        {
            count++;
        }
        else
        {
            Carry(ref count, 1);
        }
    }

    // The count (this thread's own) would pass 2^32: move 2^32 into _carried and keep the rest, both under the monitor
    // Sum takes, so a sum sees either neither or both.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Carry(ref uint count, uint hits)
    {
        lock (this)
        {
            _carried += 1L << 32;
            Volatile.Write(ref count, (uint)((ulong)count + hits - (1UL << 32)));
        }
    }
}
