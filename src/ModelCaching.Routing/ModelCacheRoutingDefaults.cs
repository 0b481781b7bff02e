namespace ModelCaching.Routing;

/// <summary>The defaults of <see cref="ModelCacheRoutingOptions"/>, in one place.</summary>
internal static class ModelCacheRoutingDefaults
{
    public const string FleetName = "default";
    public const string KeyPrefix = "modelcaching:fleet";
    public const string ClusterId = "modelcache";
    public const string RouteValueName = "id";
    public const string ModelNameFormat = "{id}";
    public const int MaxAttempts = 3;
    public const long MaxBufferedBodyBytes = 1024 * 1024;
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan ReactivationPeriod = TimeSpan.FromSeconds(10);
}
