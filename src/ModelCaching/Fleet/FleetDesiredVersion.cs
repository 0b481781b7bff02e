namespace ModelCaching.Fleet;

/// <summary>The version every instance of the fleet should serve for one model (or, in a staged rollout, the canaries), and why.</summary>
public sealed record FleetDesiredVersion
{
    /// <summary>The version to serve.</summary>
    public required FleetVersion Version { get; init; }

    /// <summary>Whether the version is pinned: a publish records a new version but does not make it the desired one.</summary>
    public bool Pinned { get; init; }

    /// <summary>What made it the desired version.</summary>
    public FleetAction Action { get; init; }

    /// <summary>Who made the change.</summary>
    public required string ChangedBy { get; init; }

    /// <summary>When the change was made.</summary>
    public DateTimeOffset ChangedAt { get; init; }

    /// <summary>
    /// The staged rollout of <see cref="Version"/>, or <see langword="null"/> when it was published to every instance at
    /// once. While the rollout is not promoted, most instances serve <see cref="FleetRollout.Previous"/> instead.
    /// </summary>
    public FleetRollout? Rollout { get; init; }
}
