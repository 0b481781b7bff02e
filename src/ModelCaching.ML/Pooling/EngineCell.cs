using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelCaching.ML;

/// <summary>
/// The engine a thread keeps between its predictions, so that a thread predicting again and again rents and
/// returns with no atomic operation and no processor id. One cell per thread and pool (a thread that predicts with
/// several models keeps an engine of each), registered with its generation, which can take the engine back: when it
/// retires, when the thread died, when the thread went quiet and another needs the cell, or when callers wait for an
/// engine.
/// </summary>
/// <remarks>
/// The owner and a revoker agree without a lock (an asymmetric Dekker handshake): the owner writes
/// <see cref="InUse"/> then reads <see cref="Revoked"/> with plain (volatile) accesses; the revoker writes
/// <see cref="Revoked"/>, runs <see cref="Interlocked.MemoryBarrierProcessWide"/>, then reads
/// <see cref="InUse"/>. Either the owner sees the revocation, or the revoker sees the engine in use and leaves it
/// to the owner, who returns it at the end of that prediction. The engine itself changes hands only through
/// <see cref="Interlocked.Exchange{T}(ref T, T)"/>, so exactly one side gets it.
/// </remarks>
internal sealed class EngineCell(long generationId, object engine, object predictionEngine, int index)
{
    // Generation ids come from here, a non-generic class, so that they are unique across every pool's TData and
    // TPrediction: a static in the generic EngineGeneration would count per closed type, and a thread's cell of one
    // pool could then match another pool's generation.
    private static long s_nextGenerationId;

    // Where every live pool keeps its cell in a thread's array (see PoolIndex); indexes of disposed pools are reused.
    private static readonly Lock s_indexLock = new();
    private static readonly Stack<int> s_freeIndexes = new();
    private static int s_nextIndex;

    // This thread's cells, at their pools' indexes. Before, a thread had one cell, for the first pool that gave it one:
    // a thread that had predicted with one pool (a benchmark's setup checking a second pool, a service with two models)
    // never kept an engine of the next, and paid the slots' processor id and two exchanges on every call.
    [ThreadStatic]
    private static EngineCell?[]? t_cells;

    // Predictions of this thread that went through the slots without keeping their engine; every 256th looks for
    // cells to take back (see EngineGeneration.ReclaimStaleCells). Per thread, so counting writes no shared line.
    [ThreadStatic]
    private static int t_misses;

    /// <summary>The globally unique id of the generation the engine belongs to (not a reference, so an idle thread does not keep an old model alive).</summary>
    public readonly long GenerationId = generationId;

    /// <summary>Where the cell is registered in its generation.</summary>
    public readonly int Index = index;

    /// <summary>The thread that owns the cell; a dead owner's engine is taken back at once.</summary>
    public readonly Thread Owner = Thread.CurrentThread;

    /// <summary>The held engine (a pooled engine of the generation); <see langword="null"/> once taken back.</summary>
    public object? Engine = engine;

    /// <summary>The held engine's ML.NET engine, read by the owner on the fast path (one load fewer than through <see cref="Engine"/>).</summary>
    public readonly object PredictionEngine = predictionEngine;

    // What the owner writes on every prediction, alone on its cache lines. A cell is a small object: after a garbage
    // collection compacts the survivors, two threads' cells can sit side by side, and plain fields here would then put
    // both threads' per-call writes on one line (false sharing, on every call, for as long as the layout lasts).
    private HotFields _hot;

    /// <summary>1 while the owner predicts with the engine. Written only by the owner.</summary>
    public ref int InUse => ref _hot.InUse;

    /// <summary>1 once the cell is revoked; never reset.</summary>
    public ref int Revoked => ref _hot.Revoked;

    /// <summary>
    /// Predictions with the engine, each a cache hit (<see cref="PoolHitCounts"/>); written only by the owner, read by a
    /// scan for cells nobody uses and by the cache's hit count.
    /// </summary>
    public ref long Uses => ref _hot.Uses;

    /// <summary>What the last scan read in <see cref="Uses"/>: unchanged at the next scan means the owner went quiet.</summary>
    public long SeenUses;

    /// <summary>The current thread's cell for the pool at <paramref name="poolIndex"/>, if it has one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static EngineCell? Get(int poolIndex)
    {
        EngineCell?[]? cells = t_cells;
        return cells is not null && (uint)poolIndex < (uint)cells.Length ? cells[poolIndex] : null;
    }

    /// <summary>Makes <paramref name="cell"/> the current thread's cell for the pool at <paramref name="poolIndex"/>.</summary>
    public static void Set(int poolIndex, EngineCell cell)
    {
        EngineCell?[]? cells = t_cells;
        if (cells is null || poolIndex >= cells.Length)
        {
            Array.Resize(ref cells, Math.Max(4, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)poolIndex + 1)));
            t_cells = cells;
        }

        cells[poolIndex] = cell;
    }

    /// <summary>
    /// An index for a new pool's cells in every thread's array: the smallest free one, so arrays stay as short as the
    /// number of pools alive at once.
    /// </summary>
    public static int AcquirePoolIndex()
    {
        lock (s_indexLock)
        {
            return s_freeIndexes.TryPop(out int index) ? index : s_nextIndex++;
        }
    }

    /// <summary>
    /// Frees a disposed pool's index. Threads may still hold that pool's cells there: they were revoked when the pool
    /// retired its generation, so the next pool at the index replaces them at its first kept engine.
    /// </summary>
    public static void ReleasePoolIndex(int index)
    {
        lock (s_indexLock)
        {
            s_freeIndexes.Push(index);
        }
    }

    /// <summary>A new generation id, unique in the process.</summary>
    public static long NextGenerationId() => Interlocked.Increment(ref s_nextGenerationId);

    /// <summary>Counts a prediction of this thread that could not keep its engine; true once every 256.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool CountMiss() => (++t_misses & 255) == 0;

    /// <summary>
    /// The owner's per-call fields, 128 bytes from either end of 256, so that no line holding them (nor the line an
    /// adjacent-line prefetcher pairs with it) holds anything of another object; the same padding as <see cref="PaddedSlot"/>.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct HotFields
    {
        [FieldOffset(128)]
        public int InUse;

        [FieldOffset(132)]
        public int Revoked;

        [FieldOffset(136)]
        public long Uses;
    }
}
