namespace ModelCaching.Fleet;

/// <summary>
/// The fleet's control plane: publish a version of a model, roll back, pin, stage a rollout, and see which instance serves
/// what. Every instance of the fleet loads the desired version through its usual pipeline (SHA-256, validators, warm-up,
/// fail-safe). ModelCaching.Redis implements it (<c>AddRedisFleet</c>): any process with the fleet's Redis settings (and
/// signing key, when records are signed) can publish. It lives in the core so that admin endpoints (ModelCaching.AspNetCore)
/// and tools work with a fleet without depending on Redis.
/// </summary>
public interface IModelFleet
{
    /// <summary>The fleet's name (<c>RedisFleetOptions.FleetName</c> (ModelCaching.Redis)).</summary>
    string FleetName { get; }

    /// <summary>Publishes <paramref name="content"/> as a new version, stored in the fleet's store (Redis), and makes it the desired version (unless the model is pinned).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The content is larger than <c>RedisFleetOptions.MaxContentBytesInRedis</c> (ModelCaching.Redis): publish it by location.</exception>
    Task<FleetVersion> PublishAsync(string modelName, ReadOnlyMemory<byte> content, FleetPublishOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes the file at <paramref name="path"/> as a new version (its SHA-256 computed here): in Redis when it fits,
    /// otherwise by its full path (see <see cref="FleetPublishOptions.Storage"/>). It becomes the desired version unless the model is pinned.
    /// </summary>
    Task<FleetVersion> PublishFileAsync(string modelName, string path, FleetPublishOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes a version whose bytes stay where they are: a file path or an <c>http(s)</c> address every instance can
    /// read, or a location a registered <see cref="IFleetContentLocationReader"/> claims (an Azure blob version, say), with
    /// their SHA-256 and length. Instances refuse content with another hash.
    /// </summary>
    /// <exception cref="ArgumentException">The SHA-256 is malformed, or the location is none of those (the message says which are).</exception>
    Task<FleetVersion> PublishLocationAsync(string modelName, string location, string sha256, long sizeBytes, FleetPublishOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes the version published before the one the fleet serves the desired version, for every instance (the pin, if any,
    /// stays; a staged rollout ends, and a rollout still at the canary stage is withdrawn). Versions withdrawn
    /// (<see cref="FleetDesiredVersion.Withdrawn"/>: their rollout stopped or was aborted) are skipped.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing is published for the model, or no older version is kept that was not withdrawn.</exception>
    Task<FleetDesiredVersion> RollbackAsync(string modelName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Pins the model on <paramref name="versionId"/> (the version the fleet serves when <see langword="null"/>) for every
    /// instance: publishes are kept but do not replace it. A pin to another version while a staged rollout is at the
    /// canary stage withdraws the rollout's version, as an abort would (<see cref="FleetDesiredVersion.Withdrawn"/>). A
    /// withdrawn version may be pinned by name: that is the operator's explicit choice, for every instance at once, and
    /// the version stays withdrawn (a later unpin or rollback skips it).
    /// </summary>
    /// <exception cref="InvalidOperationException">The version is not one the fleet keeps.</exception>
    Task<FleetDesiredVersion> PinAsync(string modelName, string? versionId = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Unpins the model; the newest published version not withdrawn (<see cref="FleetDesiredVersion.Withdrawn"/>: its
    /// rollout stopped or was aborted) becomes the desired one, for every instance. A rollout still at the canary stage
    /// keeps its stage.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing is published for the model, or every version kept was withdrawn (publish a fixed version).</exception>
    Task<FleetDesiredVersion> UnpinAsync(string modelName, CancellationToken cancellationToken = default);

    /// <summary>Promotes the model's staged rollout: every instance loads the new version (each after its share of <c>RedisFleetOptions.LoadJitter</c> (ModelCaching.Redis)).</summary>
    /// <exception cref="InvalidOperationException">The model has no rollout at the canary stage (none, promoted already, stopped or aborted).</exception>
    Task<FleetDesiredVersion> PromoteAsync(string modelName, CancellationToken cancellationToken = default);

    /// <summary>Aborts the model's staged rollout: the canaries go back to the version the rest of the fleet serves.</summary>
    /// <param name="modelName">The model.</param>
    /// <param name="reason">Why, for the record and the status; <see langword="null"/> says who aborted it.</param>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <exception cref="InvalidOperationException">The model has no rollout at the canary stage.</exception>
    Task<FleetDesiredVersion> AbortAsync(string modelName, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>The desired version of the model, or <see langword="null"/> when nothing is published.</summary>
    Task<FleetDesiredVersion?> GetDesiredVersionAsync(string modelName, CancellationToken cancellationToken = default);

    /// <summary>The versions kept for the model, newest first.</summary>
    Task<IReadOnlyList<FleetVersion>> GetVersionsAsync(string modelName, CancellationToken cancellationToken = default);

    /// <summary>What every live instance reports, and per model how many instances serve which version and which failed with what.</summary>
    Task<FleetStatus> GetStatusAsync(CancellationToken cancellationToken = default);
}
