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
}
