namespace ModelCaching.Redis;

/// <summary>Where a published version's bytes are kept.</summary>
public enum FleetContentStorage
{
    /// <summary>In Redis, beside the record (small models, up to <see cref="RedisFleetOptions.MaxContentBytesInRedis"/>).</summary>
    Redis,

    /// <summary>At <see cref="FleetVersion.Location"/>: a file path (a shared volume) or an <c>http(s)</c> address the instances read.</summary>
    Location,
}
