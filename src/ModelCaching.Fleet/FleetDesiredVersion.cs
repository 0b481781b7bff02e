namespace ModelCaching.Fleet;

/// <summary>The version every instance of the fleet should serve for one model (or, in a staged rollout, the canaries), and why.</summary>
public sealed record FleetDesiredVersion
{
    private readonly IReadOnlyList<string> _withdrawn = [];

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

    /// <summary>
    /// The versions taken back from the fleet, newest first: those whose staged rollout was stopped by a canary's failure
    /// or aborted, and the version of a rollout at the canary stage when a pin or a rollback moved the fleet to another
    /// version. <see cref="IModelFleet.UnpinAsync"/> and <see cref="IModelFleet.RollbackAsync"/> skip them, so a version
    /// that only its canaries tried never reaches the whole fleet without a canary stage; an explicit
    /// <see cref="IModelFleet.PinAsync"/> of one is allowed. Every change carries the list forward, keeping only the
    /// versions the fleet still keeps.
    /// </summary>
    /// <value>The default is empty (also for a record written before the list existed, and for <see langword="null"/>).</value>
    public IReadOnlyList<string> Withdrawn
    {
        get => _withdrawn;

        // The JSON source generator sets every init-only property it has, a missing one to null: an older record then
        // reads as empty, not null.
        init => _withdrawn = value ?? [];
    }

    /// <summary>
    /// The record's revision: every change of the model's desired record gets a higher one (the greater of the previous
    /// revision + 1 and the writer's clock in Unix milliseconds, so a Redis restarted empty still goes up). An instance
    /// never moves to a record with a lower revision than one it has accepted, so an older record replayed into Redis
    /// (or a Redis restored from an old snapshot) does not take the fleet back.
    /// </summary>
    public long Revision { get; init; }

    /// <summary>
    /// The HMAC-SHA256 (base64) of the whole record (version, pin, action, rollout, withdrawn versions, revision, who and when) when the writer
    /// had the fleet's signing key; otherwise <see langword="null"/>.
    /// </summary>
    public string? Signature { get; init; }
}
