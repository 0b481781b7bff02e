using Microsoft.Extensions.Primitives;
using ModelCaching.Routing.Membership;
using Yarp.ReverseProxy.Configuration;

namespace ModelCaching.Routing.Proxy;

/// <summary>
/// Gives YARP the cluster <see cref="RoutingSettings.ClusterId"/>, whose destinations are the fleet's live instances with an
/// address (destination id = instance id), as <see cref="RoutingMembership"/> last read them. YARP takes clusters from
/// several providers at once, so routes from appsettings (<c>LoadFromConfig</c>) point at this cluster by its id.
/// </summary>
internal sealed class ModelCacheProxyConfigProvider(RoutingSettings settings, RoutingMembership membership) : IProxyConfigProvider
{
    private Config? _last;

    public IProxyConfig GetConfig()
    {
        RoutingDestinations destinations = membership.Destinations;
        if (Volatile.Read(ref _last) is { } last && ReferenceEquals(last.Destinations, destinations))
        {
            return last;
        }

        // YARP compares destination ids without case; instance ids that differ only in case (never made by the fleet's
        // default ids) keep the first.
        var byId = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        foreach (KeyValuePair<string, string> address in destinations.Addresses)
        {
            byId.TryAdd(address.Key, new DestinationConfig { Address = address.Value });
        }

        var config = new Config(destinations, [new ClusterConfig { ClusterId = settings.ClusterId, Destinations = byId }]);
        Volatile.Write(ref _last, config);
        return config;
    }

    private sealed class Config(RoutingDestinations destinations, IReadOnlyList<ClusterConfig> clusters) : IProxyConfig
    {
        public RoutingDestinations Destinations { get; } = destinations;

        public IReadOnlyList<RouteConfig> Routes { get; } = [];

        public IReadOnlyList<ClusterConfig> Clusters { get; } = clusters;

        public IChangeToken ChangeToken => Destinations.ChangeToken;
    }
}
