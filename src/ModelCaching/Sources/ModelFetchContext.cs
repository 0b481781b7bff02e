namespace ModelCaching;

/// <summary>
/// What a source is told when asked for content.
/// </summary>
public sealed class ModelFetchContext
{
    /// <summary>Initializes a new instance of the <see cref="ModelFetchContext"/> class.</summary>
    /// <param name="modelName">The model being loaded.</param>
    /// <param name="current">The version serving now, for conditional fetches (ETag), or <see langword="null"/>.</param>
    /// <param name="maxArtifactBytes">The largest content the cache accepts; a source should stop reading past it.</param>
    public ModelFetchContext(string modelName, ModelVersion? current, long maxArtifactBytes)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        ModelName = modelName;
        Current = current;
        MaxArtifactBytes = maxArtifactBytes;
    }

    /// <summary>The model being loaded.</summary>
    public string ModelName { get; }

    /// <summary>The version serving now, for conditional fetches (ETag), or <see langword="null"/>.</summary>
    public ModelVersion? Current { get; }

    /// <summary>The largest content the cache accepts; a source should stop reading past it.</summary>
    public long MaxArtifactBytes { get; }
}
