namespace ModelCaching.Generations;

/// <summary>
/// Makes a cache's generations (<see cref="ModelSlot{TModel}.CreateGeneration"/>, which numbers them): gives each its
/// version, and keeps the bytes it was loaded from only when a feature needs them (a rollback to it,
/// <see cref="ModelRollbackRetention.Artifact"/>, or the restore after a failed unload-first swap,
/// <see cref="ModelSwapMode.UnloadFirst"/>); the content hash is enough to tell an unchanged source. It holds nothing:
/// the slot keeps the count (issue 18: what a known name costs).
/// </summary>
internal static class GenerationFactory
{
    // The version ids of a factory's first generations, made once for every model (most models never pass the first).
    private static readonly string[] FirstIds = ["g1", "g2", "g3", "g4"];

    /// <summary>Whether a generation made with <paramref name="options"/> keeps the bytes it was loaded from.</summary>
    public static bool KeepsContent(ModelOptions options) =>
        options.RollbackRetention == ModelRollbackRetention.Artifact || options.SwapMode == ModelSwapMode.UnloadFirst;

    // number: the generation's, counted by the slot. artifact: null for a model a factory built (its version is its
    // generation number). size: estimated in the pipeline, under the load timeout (SizeEstimator is a user callback).
    // charge: the bytes it holds against the memory budget, if any (released when the generation is disposed).
    public static ModelGeneration<TModel> Create<TModel>(IGenerationOwner<TModel> owner, IGenerationContext context, bool keepsContent, long number, TModel model, ModelArtifact? artifact, long size, Budget.GenerationCharge? charge)
        where TModel : class
    {
        var version = new ModelVersion(
            artifact?.ContentHash ?? artifact?.ETag ?? (number <= FirstIds.Length ? FirstIds[number - 1] : $"g{number}"),
            number,
            context.VersionSource,
            context.TimeProvider.GetUtcNow(),
            size,
            artifact?.ETag);
        ModelArtifact? kept = keepsContent && artifact is { HasContent: true } ? artifact : null;
        return new ModelGeneration<TModel>(owner, model, version, kept, charge)
        {
            ContentHash = artifact?.ContentHash,
        };
    }
}
