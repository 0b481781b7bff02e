using System.Runtime.CompilerServices;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// A thread writes its cell on every prediction (issue 18, the pooled path's shared writes): two threads' cells that a
/// garbage collection compacts side by side must not put those writes on one cache line.
/// </summary>
public sealed class EngineCellLayoutTests
{
    [Fact]
    public void CellsSideBySide_KeepTheirPerCallFieldsTwoCacheLinePairsApart()
    {
        // Allocated one after the other on one thread: adjacent in memory, as compacted survivors are.
        var first = new EngineCell(EngineCell.NextGenerationId(), new object(), new object(), index: 0);
        var second = new EngineCell(EngineCell.NextGenerationId(), new object(), new object(), index: 1);

        long apart = Math.Abs((long)Unsafe.ByteOffset(ref first.InUse, ref second.InUse));

        // Before, the cell was 72 bytes of plain fields: its InUse, Revoked and Uses sat within one line of the next cell's.
        Assert.True(apart >= 256, $"The per-call fields of two adjacent cells are {apart} bytes apart.");
        Assert.Equal(4, (int)Unsafe.ByteOffset(ref first.InUse, ref first.Revoked));
        Assert.Equal(8, (int)Unsafe.ByteOffset(ref Unsafe.As<int, byte>(ref first.InUse), ref Unsafe.As<long, byte>(ref first.Uses)));
    }
}
