using System.Runtime.CompilerServices;

namespace ModelCaching.ML;

/// <summary>
/// The engine a thread keeps between its predictions, so that a thread predicting again and again rents and
/// returns with no atomic operation and no processor id. One cell per thread (for the last pool that gave it
/// one), registered with its generation, which can take the engine back: when it retires, when the thread died,
/// or when callers wait for an engine.
/// </summary>
/// <remarks>
/// The owner and a revoker agree without a lock (an asymmetric Dekker handshake): the owner writes
/// <see cref="InUse"/> then reads <see cref="Revoked"/> with plain (volatile) accesses; the revoker writes
/// <see cref="Revoked"/>, runs <see cref="Interlocked.MemoryBarrierProcessWide"/>, then reads
/// <see cref="InUse"/>. Either the owner sees the revocation, or the revoker sees the engine in use and leaves it
/// to the owner, who returns it at the end of that prediction. The engine itself changes hands only through
/// <see cref="Interlocked.Exchange{T}(ref T, T)"/>, so exactly one side gets it.
/// </remarks>
internal sealed class EngineCell(long generationId, object engine, int index)
{
    // Generation ids come from here, a non-generic class, so that they are unique across every pool's TData and
    // TPrediction: a static in the generic EngineGeneration would count per closed type, and a thread's cell of one
    // pool could then match another pool's generation.
    private static long s_nextGenerationId;

    [ThreadStatic]
    private static EngineCell? t_current;

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

    /// <summary>1 while the owner predicts with the engine. Written only by the owner.</summary>
    public int InUse;

    /// <summary>1 once the cell is revoked; never reset.</summary>
    public int Revoked;

    /// <summary>Predictions with the engine; written only by the owner, read by a scan for cells nobody uses.</summary>
    public int Uses;

    /// <summary>What the last scan read in <see cref="Uses"/>: unchanged at the next scan means the owner went quiet.</summary>
    public int SeenUses;

    /// <summary>The current thread's cell, if it has one.</summary>
    public static EngineCell? Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_current;
        set => t_current = value;
    }

    /// <summary>A new generation id, unique in the process.</summary>
    public static long NextGenerationId() => Interlocked.Increment(ref s_nextGenerationId);

    /// <summary>Counts a prediction of this thread that could not keep its engine; true once every 256.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool CountMiss() => (++t_misses & 255) == 0;
}
