using System.Diagnostics.Metrics;
using ModelCaching.Routing.Membership;

namespace ModelCaching.Routing.Diagnostics;

/// <summary>
/// The router's instruments on the <c>ModelCaching</c> meter (<see cref="ModelCacheDiagnostics.MeterName"/>, through the
/// application's <see cref="IMeterFactory"/>): requests sent per instance, retries by reason, requests no owner could take,
/// and the live instances the router knows.
/// </summary>
internal sealed class RoutingMetrics : IDisposable
{
    public const string FleetTag = "modelcache.fleet";
    public const string InstanceTag = "modelcache.instance";
    public const string ReasonTag = "modelcache.routing.reason";

    /// <summary>The reason of a retry: the instance failed before answering.</summary>
    public const string TransportFailure = "transport_failure";

    /// <summary>The reason of a retry: the instance answered 421 (it does not own the model).</summary>
    public const string Misdirected = "misdirected";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _noOwner;
    private readonly KeyValuePair<string, object?> _fleet;

    public RoutingMetrics(RoutingSettings settings, RoutingMembership membership, IMeterFactory? meterFactory)
    {
        _fleet = new(FleetTag, settings.FleetName);
        _meter = meterFactory?.Create(ModelCacheDiagnostics.MeterName) ?? new Meter(ModelCacheDiagnostics.MeterName);
        _requests = _meter.CreateCounter<long>("modelcache.routing.requests", "{request}", "Requests the router sent to an instance (each attempt counts), tagged with the instance.");
        _retries = _meter.CreateCounter<long>("modelcache.routing.retries", "{request}", "Requests the router sent to another owner, because the first failed before answering or answered 421 Misdirected Request.");
        _noOwner = _meter.CreateCounter<long>("modelcache.routing.no_owner", "{request}", "Requests the router answered 503 because no live instance with an address owns the model.");
        _meter.CreateObservableGauge("modelcache.routing.instances", () => new Measurement<int>(membership.Destinations.Addresses.Count, _fleet), "{instance}", "The fleet's live instances with an address, as the router last read them.");
    }

    public void Routed(string instanceId) => _requests.Add(1, _fleet, new(InstanceTag, instanceId));

    public void Retried(string reason) => _retries.Add(1, _fleet, new(ReasonTag, reason));

    public void NoOwner() => _noOwner.Add(1, _fleet);

    public void Dispose() => _meter.Dispose();
}
