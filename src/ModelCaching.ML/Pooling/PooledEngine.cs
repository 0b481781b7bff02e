using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>
/// One engine of a generation and its rent count. A lease remembers the count it was rented at and the return
/// advances it, so a second dispose of the same lease (or of a copy of it, since leases are structs) finds a newer
/// count and does nothing instead of putting the engine into a second slot.
/// </summary>
internal sealed class PooledEngine<TData, TPrediction>(PredictionEngine<TData, TPrediction> engine, EngineGeneration<TData, TPrediction> generation)
    where TData : class
    where TPrediction : class, new()
{
    public readonly PredictionEngine<TData, TPrediction> Engine = engine;

    public readonly EngineGeneration<TData, TPrediction> Generation = generation;

    /// <summary>How many leases have returned this engine; advanced only by a lease's (first) dispose.</summary>
    public int Returns;

    /// <summary>
    /// 1 while a caller of the raw-engine API (<c>PredictionEnginePool.GetPredictionEngine</c>) holds the engine. A return
    /// takes it back to 0 with a compare-and-swap, so of two returns of one rental (even from two threads at once)
    /// exactly one puts the engine back; a scan of the slots alone let both through.
    /// </summary>
    public int RentedRaw;
}
