namespace ModelCaching.Fleet;

/// <summary>One model on one instance: what it serves, in which state, and its last error.</summary>
public sealed record FleetMemberModel
{
    /// <summary>The model's name.</summary>
    public required string Name { get; init; }

    /// <summary>The version this instance should serve as it last read the desired record (in a staged rollout, the new version on a canary and the previous one elsewhere), or <see langword="null"/>.</summary>
    public string? DesiredVersionId { get; init; }

    /// <summary>The version it serves (a fleet version id, or <c>local:…</c>), or <see langword="null"/> when nothing serves.</summary>
    public string? ServedVersionId { get; init; }

    /// <summary>The SHA-256 of what it serves, or <see langword="null"/>.</summary>
    public string? ServedSha256 { get; init; }

    /// <summary>The model's state on the instance.</summary>
    public ModelCacheState State { get; init; }

    /// <summary>Why the instance does not serve the desired version (a failed load, a refused record), or <see langword="null"/>.</summary>
    public string? LastError { get; init; }

    /// <summary>Whether the instance is a canary of the model's staged rollout in progress.</summary>
    public bool Canary { get; init; }
}
