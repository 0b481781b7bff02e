namespace ModelCaching.Fleet;

/// <summary>Where a published version's bytes are kept.</summary>
public enum FleetContentStorage
{
    /// <summary>In the fleet's store beside the record: Redis, for ModelCaching.Redis (small models, up to <c>RedisFleetOptions.MaxContentBytesInRedis</c>).</summary>
    Store,

    /// <summary>At <see cref="FleetVersion.Location"/>: a file path (a shared volume) or an <c>http(s)</c> address the instances read.</summary>
    Location,
}
