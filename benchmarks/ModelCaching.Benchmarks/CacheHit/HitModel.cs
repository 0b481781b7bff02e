namespace ModelCaching.Benchmarks.CacheHit;

/// <summary>
/// A small model for hit-path benchmarks: what the cache hands out does not change the cost of handing it out,
/// so the hit benchmarks use a plain object rather than a real model.
/// </summary>
public sealed class HitModel(string version)
{
    /// <summary>The version the model was loaded from.</summary>
    public string Version { get; } = version;

    /// <summary>Loads a model from an artifact: the delegate loader of the hit benchmarks.</summary>
    public static ValueTask<HitModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new HitModel(artifact.ContentHash ?? "none"));

    /// <summary>Registers an in-memory source and <see cref="LoadAsync"/>.</summary>
    public static void FromMemory(ModelBuilder<HitModel> model) =>
        model.FromStream(static _ => ValueTask.FromResult<Stream>(new MemoryStream("hit-model"u8.ToArray())), "memory:hit-model")
            .UseLoader(LoadAsync);
}
