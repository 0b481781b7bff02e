using Microsoft.Extensions.Logging;

namespace ModelCaching.Generations;

/// <summary>
/// Makes the generations of one cache: numbers them, gives each its version, and keeps the bytes it was loaded from only
/// when a feature needs them (a rollback to it, <see cref="ModelRollbackRetention.Artifact"/>, or the restore after a
/// failed unload-first swap, <see cref="ModelSwapMode.UnloadFirst"/>); the content hash is enough to tell an unchanged
/// source.
/// </summary>
internal sealed class GenerationFactory<TModel>(string name, string sourceDescription, ModelOptions<TModel> options, TimeProvider timeProvider, ILogger logger, Action<ModelGeneration<TModel>> onDisposed)
    where TModel : class
{
    // The version ids of a factory's first generations, made once for every model (most models never pass the first).
    private static readonly string[] FirstIds = ["g1", "g2", "g3", "g4"];

    private long _count;

    /// <summary>Whether a generation keeps the bytes it was loaded from.</summary>
    public bool KeepsContent { get; } = options.RollbackRetention == ModelRollbackRetention.Artifact || options.SwapMode == ModelSwapMode.UnloadFirst;

    /// <summary>How many generations were made; the next one's number is one more.</summary>
    public long Count => Interlocked.Read(ref _count);

    // artifact: null for a model a factory built (its version is its generation number).
    // size: estimated in the pipeline, under the load timeout (SizeEstimator is a user callback).
    // charge: the bytes it holds against the memory budget, if any (released when the generation is disposed).
    public ModelGeneration<TModel> Create(TModel model, ModelArtifact? artifact, long size, Budget.GenerationCharge? charge)
    {
        long number = Interlocked.Increment(ref _count);
        var version = new ModelVersion(
            artifact?.ContentHash ?? artifact?.ETag ?? (number <= FirstIds.Length ? FirstIds[number - 1] : $"g{number}"),
            number,
            sourceDescription,
            timeProvider.GetUtcNow(),
            size,
            artifact?.ETag);
        ModelArtifact? kept = KeepsContent && artifact is { HasContent: true } ? artifact : null;
        return new ModelGeneration<TModel>(name, model, version, kept, logger, onDisposed, charge)
        {
            ContentHash = artifact?.ContentHash,
        };
    }
}
