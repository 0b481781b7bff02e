namespace ModelCaching;

/// <summary>
/// What a source is told when asked for content.
/// </summary>
/// <param name="ModelName">The model being loaded.</param>
/// <param name="Current">The version serving now, for conditional fetches (ETag), or <see langword="null"/>.</param>
/// <param name="MaxArtifactBytes">The largest content the cache accepts; a source should stop reading past it.</param>
public sealed record ModelFetchContext(string ModelName, ModelVersion? Current, long MaxArtifactBytes);
