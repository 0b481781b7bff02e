using ModelCaching.Generations;

namespace ModelCaching;

/// <summary>
/// Identifies the model generation that is serving: what was loaded, from where, and when.
/// </summary>
public sealed class ModelVersion
{
    /// <summary>Initializes a new instance of the <see cref="ModelVersion"/> class.</summary>
    /// <param name="id">The version identifier: the SHA-256 of the content (lowercase hex) when the source provides bytes, otherwise the source's own version (an ETag) or <c>g{Generation}</c>.</param>
    /// <param name="generation">A number that grows by one with every generation this cache loads, starting at 1.</param>
    /// <param name="source">A description of where the model came from (a file path, a URL).</param>
    /// <param name="loadedAt">When the generation started serving.</param>
    /// <param name="sizeBytes">The estimated size of the model in bytes (the artifact size), or 0 when unknown.</param>
    /// <param name="eTag">The source's ETag, when it has one.</param>
    public ModelVersion(string id, long generation, string source, DateTimeOffset loadedAt, long sizeBytes, string? eTag = null)
        : this(id, generation, (object)source, loadedAt, sizeBytes, eTag)
    {
    }

    // source: the description, or an IVersionSource that makes it when read (a template's model: issue 18).
    internal ModelVersion(string id, long generation, object source, DateTimeOffset loadedAt, long sizeBytes, string? eTag = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(source);
        Id = id;
        Generation = generation;
        _source = source;
        LoadedAt = loadedAt;
        SizeBytes = sizeBytes;
        ETag = eTag;
    }

    private readonly object _source;

    /// <summary>The version identifier: the SHA-256 of the content (lowercase hex) when the source provides bytes, otherwise the source's own version (an ETag) or <c>g{Generation}</c>.</summary>
    public string Id { get; }

    /// <summary>A number that grows by one with every generation this cache loads, starting at 1.</summary>
    public long Generation { get; }

    /// <summary>A description of where the model came from (a file path, a URL).</summary>
    public string Source => _source as string ?? ((IVersionSource)_source).Description;

    /// <summary>When the generation started serving.</summary>
    public DateTimeOffset LoadedAt { get; }

    /// <summary>The estimated size of the model in bytes (the artifact size), or 0 when unknown.</summary>
    public long SizeBytes { get; }

    /// <summary>The source's ETag, when it has one.</summary>
    public string? ETag { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Id} (generation {Generation}, from {Source}, loaded at {LoadedAt:O})";
}
