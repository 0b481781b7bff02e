namespace ModelCaching.Fleet;

/// <summary>How a version is published (<see cref="IModelFleet"/>).</summary>
public sealed class FleetPublishOptions
{
    /// <summary>
    /// The version's id: letters, digits, <c>.</c>, <c>-</c> and <c>_</c>, at most 100 characters, new for the model.
    /// <value>The default is <see langword="null"/>: <c>v{UTC time}-{first 8 hex digits of the SHA-256}</c>.</value>
    /// </summary>
    public string? VersionId { get; set; }

    /// <summary>
    /// Who publishes, for the record and the status.
    /// <value>The default is <see langword="null"/>: <c>{user}@{machine}</c>.</value>
    /// </summary>
    public string? PublishedBy { get; set; }

    /// <summary>
    /// For <see cref="IModelFleet.PublishFileAsync"/>: where the bytes go. <see langword="null"/> stores them in Redis when
    /// they fit <c>RedisFleetOptions.MaxContentBytesInRedis</c> (ModelCaching.Redis), and otherwise publishes the file's full path (which
    /// every instance must be able to read: a shared volume).
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public FleetContentStorage? Storage { get; set; }

    /// <summary>
    /// Publishes as a staged rollout: only this share of the live instances that report the model (at least one, chosen
    /// by a rendezvous hash of instance id and version) loads the version first; the rest keep the version the fleet
    /// serves until <see cref="IModelFleet.PromoteAsync"/>. A canary's failed load stops the rollout by itself. Between 0
    /// and 1, exclusive.
    /// <value>The default is <see langword="null"/>: every instance loads the version (each after its share of <c>RedisFleetOptions.LoadJitter</c> (ModelCaching.Redis)).</value>
    /// </summary>
    public double? CanaryShare { get; set; }
}
