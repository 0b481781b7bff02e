using System.Diagnostics.Metrics;
using ModelCaching.Redis.Instance;

namespace ModelCaching.Redis.Diagnostics;

/// <summary>
/// The fleet's instruments on the <c>ModelCaching</c> meter (through the application's <see cref="IMeterFactory"/>), one
/// instance's part of what <c>GET /fleet</c> shows: summed over the instances (<c>sum by (model, version)</c>), they say
/// how many serve which version, how many fail, and who the canaries are. Observable: they read the agent's state when a
/// listener collects; nothing is recorded on the hit path.
/// </summary>
internal sealed class FleetMetrics : IDisposable
{
    public const string FleetTag = "modelcache.fleet";
    public const string ModelTag = "modelcache.model";
    public const string VersionTag = "modelcache.fleet.version";

    private readonly Meter _meter;
    private readonly Counter<long> _rolloutsStopped;
    private readonly Counter<long> _recordsRefused;
    private readonly Counter<long> _refusedNotOwned;
    private readonly Counter<long> _handedOff;
    private readonly Counter<long> _warmed;
    private readonly KeyValuePair<string, object?> _fleet;

    public FleetMetrics(FleetAgent agent, IMeterFactory? meterFactory)
    {
        _fleet = new(FleetTag, agent.Settings.FleetName);
        _meter = meterFactory?.Create(ModelCacheDiagnostics.MeterName) ?? new Meter(ModelCacheDiagnostics.MeterName);
        _meter.CreateObservableGauge("modelcache.fleet.connected", () => new Measurement<int>(agent.IsConnected ? 1 : 0, _fleet), "{connection}", "1 while this instance reaches the fleet's Redis, 0 while it does not (models keep serving).");
        _meter.CreateObservableGauge("modelcache.fleet.serving", () => Observe(agent, static m => m.ServedVersionId is null ? null : (1, m.ServedVersionId)), "{instance}", "1 per fleet model this instance serves, tagged with the version: summed over instances, how many serve which version.");
        _meter.CreateObservableGauge("modelcache.fleet.failing", () => Observe(agent, static m => (m.LastError is null ? 0 : 1, null)), "{instance}", "1 per fleet model this instance is not on its target version for (a failed load, a refused record, a desired record gone).");
        _meter.CreateObservableGauge("modelcache.fleet.canary", () => Observe(agent, static m => (m.Canary ? 1 : 0, null)), "{instance}", "1 per fleet model whose staged rollout this instance is a canary of.");
        _rolloutsStopped = _meter.CreateCounter<long>("modelcache.fleet.rollouts.stopped", "{rollout}", "Staged rollouts this instance stopped because its load of the canary version failed.");
        if (agent.Placement.Enabled)
        {
            _meter.CreateObservableGauge("modelcache.fleet.placement.owned", () => new Measurement<int>(agent.Placement.OwnedLoaded(), _fleet), "{model}", "Models of placed templates this instance owns and has loaded.");
        }

        // No model tag on the placement counters: a refused name may be made up by a client (telemetry stays bounded).
        _refusedNotOwned = _meter.CreateCounter<long>("modelcache.fleet.placement.refused", "{request}", "Requests for a placed model this instance does not own, refused before any load (ModelNotOwnedException, HTTP 421).");
        _handedOff = _meter.CreateCounter<long>("modelcache.fleet.placement.handed_off", "{model}", "Placed models this instance released after their owners changed (evicted once the new owners had them, or after the grace).");
        _warmed = _meter.CreateCounter<long>("modelcache.fleet.placement.warmed", "{model}", "Placed models this instance loaded ahead of requests because they moved to it.");
        _recordsRefused = _meter.CreateCounter<long>("modelcache.fleet.records.refused", "{record}", "Desired records this instance refused: unsigned or wrongly signed when a signing key is set, or older than a revision it accepted (a replay).");
    }

    public void RecordRefused(string model) => _recordsRefused.Add(1, _fleet, new(ModelTag, model));

    public void RolloutStopped(string model) => _rolloutsStopped.Add(1, _fleet, new(ModelTag, model));

    public void RefusedNotOwned() => _refusedNotOwned.Add(1, _fleet);

    public void HandedOff() => _handedOff.Add(1, _fleet);

    public void Warmed() => _warmed.Add(1, _fleet);

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<int>> Observe(FleetAgent agent, Func<FleetMemberModel, (int Value, string? Version)?> value)
    {
        foreach (FleetMemberModel model in agent.Describe().Models)
        {
            if (value(model) is not { } measured)
            {
                continue;
            }

            yield return measured.Version is null
                ? new Measurement<int>(measured.Value, _fleet, new(ModelTag, model.Name))
                : new Measurement<int>(measured.Value, _fleet, new(ModelTag, model.Name), new(VersionTag, measured.Version));
        }
    }
}
