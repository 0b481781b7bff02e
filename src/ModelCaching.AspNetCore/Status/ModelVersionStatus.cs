namespace ModelCaching.AspNetCore;

/// <summary>The serving version of a model, as the status endpoint reports it.</summary>
/// <param name="Id">The version id: the content's SHA-256, or the source's ETag.</param>
/// <param name="Generation">The generation number; it grows by one with every load.</param>
/// <param name="Source">Where this generation was loaded from.</param>
/// <param name="LoadedAt">When this generation started serving.</param>
/// <param name="SizeBytes">The estimated size in bytes, or 0 when unknown.</param>
/// <param name="ETag">The source's ETag, when it has one.</param>
internal sealed record ModelVersionStatus(
    string Id,
    long Generation,
    string Source,
    DateTimeOffset LoadedAt,
    long SizeBytes,
    string? ETag)
{
    /// <summary>Describes <paramref name="version"/>.</summary>
    public static ModelVersionStatus From(ModelVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        return new ModelVersionStatus(version.Id, version.Generation, version.Source, version.LoadedAt, version.SizeBytes, version.ETag);
    }
}
