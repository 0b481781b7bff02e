using System.Security.Cryptography;

namespace ModelCaching;

/// <summary>
/// The bytes of one model version as a source delivered them, with their SHA-256 and the source's own
/// version information. A loader turns an artifact into a model.
/// </summary>
public sealed class ModelArtifact
{
    private readonly ReadOnlyMemory<byte> _content;

    /// <summary>Creates an artifact over <paramref name="content"/> and computes its SHA-256.</summary>
    /// <param name="content">The model's bytes. The artifact keeps a reference; do not change them afterwards.</param>
    /// <param name="location">Where the bytes came from (a file path, a URL), for messages.</param>
    /// <param name="etag">The source's entity tag, when it has one.</param>
    /// <param name="lastModified">The source's last-modified time, when it has one.</param>
    /// <param name="expectedSha256">A SHA-256 the content must have (from a <c>.sha256</c> sidecar, say), or <see langword="null"/>.</param>
    public ModelArtifact(ReadOnlyMemory<byte> content, string location, string? etag = null, DateTimeOffset? lastModified = null, string? expectedSha256 = null)
    {
        ArgumentNullException.ThrowIfNull(location);
        _content = content;
        Location = location;
        ETag = etag;
        LastModified = lastModified;
        ExpectedSha256 = expectedSha256;
        HasContent = true;
        ContentHash = Convert.ToHexStringLower(SHA256.HashData(content.Span));
    }

    private ModelArtifact(string location, string? versionId)
    {
        Location = location;
        ETag = versionId;
        ContentHash = null;
        HasContent = false;
    }

    /// <summary>
    /// Creates an artifact without bytes, for sources that produce a model directly (a factory delegate,
    /// a custom loader). Such artifacts are never "unchanged": each one is loaded.
    /// </summary>
    /// <param name="location">A description of the source, for messages.</param>
    /// <param name="versionId">A version the source knows, or <see langword="null"/>.</param>
    public static ModelArtifact WithoutContent(string location, string? versionId = null) => new(location, versionId);

    /// <summary>Whether the artifact carries bytes (and so a <see cref="ContentHash"/>).</summary>
    public bool HasContent { get; }

    /// <summary>The model's bytes; empty for <see cref="WithoutContent"/> artifacts.</summary>
    public ReadOnlyMemory<byte> Content => _content;

    /// <summary>The number of bytes.</summary>
    public long Length => _content.Length;

    /// <summary>The SHA-256 of <see cref="Content"/> as lowercase hex, or <see langword="null"/> without content.</summary>
    public string? ContentHash { get; }

    /// <summary>Where the bytes came from.</summary>
    public string Location { get; }

    /// <summary>The source's entity tag, when it has one.</summary>
    public string? ETag { get; }

    /// <summary>The source's last-modified time, when it has one.</summary>
    public DateTimeOffset? LastModified { get; }

    /// <summary>A SHA-256 the source says the content must have, or <see langword="null"/>.</summary>
    public string? ExpectedSha256 { get; }

    /// <summary>Opens a new read-only stream over the content. Each call returns an independent stream.</summary>
    public Stream OpenRead() => new ReadOnlyMemoryStream(_content);
}
