namespace ModelCaching.Fleet;

/// <summary>
/// One published version of a model in a fleet: which bytes (by SHA-256), where they are, who published them and when.
/// Instances load exactly these bytes and check their SHA-256 before a loader sees them.
/// </summary>
public sealed record FleetVersion
{
    /// <summary>The model's name.</summary>
    public required string Model { get; init; }

    /// <summary>The version's id, unique per model (<c>v20250101-120000-1a2b3c4d</c> unless the publisher named it). It becomes the serving generation's <see cref="ModelVersion.ETag"/>.</summary>
    public required string VersionId { get; init; }

    /// <summary>The SHA-256 of the content, lowercase hex.</summary>
    public required string Sha256 { get; init; }

    /// <summary>The content's length in bytes.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>Where the bytes are: in Redis, or at <see cref="Location"/>.</summary>
    public required FleetContentStorage Storage { get; init; }

    /// <summary>For <see cref="FleetContentStorage.Location"/>: a file path or an <c>http(s)</c> address every instance can read; otherwise <see langword="null"/>.</summary>
    public string? Location { get; init; }

    /// <summary>Who published it (the publisher's name, or user@machine).</summary>
    public required string PublishedBy { get; init; }

    /// <summary>When it was published (to the millisecond).</summary>
    public required DateTimeOffset PublishedAt { get; init; }

    /// <summary>The record's HMAC-SHA256 (base64) when the publisher had a signing key; otherwise <see langword="null"/>.</summary>
    public string? Signature { get; init; }
}
