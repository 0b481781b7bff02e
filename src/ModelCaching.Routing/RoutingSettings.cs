using ModelCaching.Redis;

namespace ModelCaching.Routing;

/// <summary>
/// The routing options, read once when the router is built (validated before): changing
/// <see cref="ModelCacheRoutingOptions"/> afterwards changes nothing.
/// </summary>
internal sealed class RoutingSettings
{
    private readonly string _modelNamePrefix;
    private readonly string _modelNameSuffix;

    public RoutingSettings(ModelCacheRoutingOptions options)
    {
        FleetName = options.FleetName;
        ClusterId = options.ClusterId;
        RouteValueName = options.RouteValueName;
        string placeholder = "{" + options.RouteValueName + "}";
        int at = options.ModelNameFormat.IndexOf(placeholder, StringComparison.Ordinal);
        _modelNamePrefix = options.ModelNameFormat[..at];
        _modelNameSuffix = options.ModelNameFormat[(at + placeholder.Length)..];
        RefreshInterval = options.RefreshInterval;
        ReactivationPeriod = options.ReactivationPeriod;
        MaxAttempts = options.MaxAttempts;
        MaxBufferedBodyBytes = options.MaxBufferedBodyBytes;

        // The fleet's own settings, store and keys read the membership, so router and instances never disagree on a key.
        Fleet = new FleetSettings(new RedisFleetOptions
        {
            Configuration = options.Configuration,
            ConfigurationOptions = options.ConfigurationOptions,
            ConnectionMultiplexerFactory = options.ConnectionMultiplexerFactory,
            FleetName = options.FleetName,
            KeyPrefix = options.KeyPrefix,
        });
    }

    public string FleetName { get; }

    public string ClusterId { get; }

    public string RouteValueName { get; }

    public TimeSpan RefreshInterval { get; }

    public TimeSpan ReactivationPeriod { get; }

    public int MaxAttempts { get; }

    public long MaxBufferedBodyBytes { get; }

    public FleetSettings Fleet { get; }

    /// <summary>The model a route value names, by <see cref="ModelCacheRoutingOptions.ModelNameFormat"/>.</summary>
    public string ModelName(string routeValue) => string.Concat(_modelNamePrefix, routeValue, _modelNameSuffix);
}
