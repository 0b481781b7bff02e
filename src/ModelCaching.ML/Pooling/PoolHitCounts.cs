using ModelCaching.Diagnostics;

namespace ModelCaching.ML;

/// <summary>
/// The cache hits a pool's fast path counts itself: a prediction with the engine a thread keeps (<see cref="EngineCell"/>)
/// checks that its model still serves without the cache's hit counter, and counts the hit in the cell's
/// <see cref="EngineCell.Uses"/>, which that thread alone writes and already writes on every such call. The cache's hit
/// counter adds <see cref="Hits"/> to its sum (<see cref="StackRegionCounter.IHitSource"/>), so its hit count, its
/// metric and its budget's uses are what they were when every prediction called <c>GetModel()</c>.
/// </summary>
/// <remarks>
/// Why: the cache's counter costs a prediction about 2 ns of a ~105 ns raw prediction (issue 18's outside loop), and
/// the cell's count was already paid. A cell counts while it is registered; when its engine is taken back (retirement,
/// a revocation, a fault, a dead owner) its owner can no longer enter it, so its count is final and is folded into
/// <c>_folded</c>, under the same lock as a sum, so no sum counts a cell twice or misses it.
/// </remarks>
internal sealed class PoolHitCounts : StackRegionCounter.IHitSource
{
    private readonly Lock _lock = new();
    private readonly HashSet<EngineCell> _cells = new(ReferenceEqualityComparer.Instance);
    private long _folded;

    /// <inheritdoc />
    public long Hits
    {
        get
        {
            lock (_lock)
            {
                long sum = _folded;
                foreach (EngineCell cell in _cells)
                {
                    sum += Volatile.Read(ref cell.Uses);
                }

                return sum;
            }
        }
    }

    /// <summary>A new cell, before its owner can use it.</summary>
    public void Track(EngineCell cell)
    {
        lock (_lock)
        {
            _cells.Add(cell);
        }
    }

    /// <summary>A cell whose engine was taken back: its owner enters it no more, so its count is final.</summary>
    public void Fold(EngineCell cell)
    {
        lock (_lock)
        {
            if (_cells.Remove(cell))
            {
                _folded += Volatile.Read(ref cell.Uses);
            }
        }
    }
}
