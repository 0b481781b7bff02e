namespace ModelCaching;

/// <summary>
/// Identifies the model generation that is serving: what was loaded, from where, and when.
/// </summary>
/// <param name="Id">
/// The version identifier: the SHA-256 of the content (lowercase hex) when the source provides bytes,
/// otherwise the source's own version (an ETag) or <c>g{Generation}</c>.
/// </param>
/// <param name="Generation">A number that grows by one with every generation this cache loads, starting at 1.</param>
/// <param name="Source">A description of where the model came from (a file path, a URL).</param>
/// <param name="LoadedAt">When the generation started serving.</param>
/// <param name="SizeBytes">The estimated size of the model in bytes (the artifact size), or 0 when unknown.</param>
/// <param name="ETag">The source's ETag, when it has one.</param>
public sealed record ModelVersion(
    string Id,
    long Generation,
    string Source,
    DateTimeOffset LoadedAt,
    long SizeBytes,
    string? ETag = null)
{
    /// <inheritdoc />
    public override string ToString() => $"{Id} (generation {Generation}, from {Source}, loaded at {LoadedAt:O})";
}
