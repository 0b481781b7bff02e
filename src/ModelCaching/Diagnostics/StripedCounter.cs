using System.Runtime.InteropServices;

namespace ModelCaching.Diagnostics;

/// <summary>
/// A counter with one cell per core, each on its own cache lines, so that counting hits on many
/// threads writes to no shared line (the same reason MemoryCache keeps its statistics per thread).
/// </summary>
/// <remarks>
/// Increments are plain (not interlocked): a single read-modify-write instruction cannot be torn by a
/// context switch on one core, and two cores share a cell only for the moment after a thread migrates
/// before its cached processor id refreshes. The sum can therefore miss a rare increment; it is a
/// statistic and an idleness signal, not a ledger.
/// </remarks>
internal sealed class StripedCounter
{
    private readonly PaddedCell[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Environment.ProcessorCount));
        _cells = new PaddedCell[size];
        _mask = size - 1;
    }

    public void Increment() => _cells[Thread.GetCurrentProcessorId() & _mask].Value++;

    public long Sum()
    {
        long sum = 0;
        PaddedCell[] cells = _cells;
        for (int i = 0; i < cells.Length; i++)
        {
            sum += Volatile.Read(ref cells[i].Value);
        }

        return sum;
    }

    // 128 bytes: the value sits alone between two 64-byte lines of padding, which also defeats the
    // adjacent-line prefetcher that pairs cache lines on x64.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedCell
    {
        [FieldOffset(64)]
        public long Value;
    }
}
