namespace ModelCaching.Redis;

/// <summary>The defaults of <see cref="RedisFleetOptions"/>, in one place.</summary>
internal static class RedisFleetDefaults
{
    public const string FleetName = "default";
    public const string KeyPrefix = "modelcaching:fleet";
    public const long MaxContentBytesInRedis = 16L * 1024 * 1024;
    public const int VersionsKept = 10;
    public const double ReconcileJitter = 0.2;
    public const int MinSigningKeyBytes = 16;
    public const int PlacementReplicas = 2;
    public static readonly TimeSpan ReconcileInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan MemberTimeToLive = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan LoadJitter = TimeSpan.FromSeconds(2);
}
