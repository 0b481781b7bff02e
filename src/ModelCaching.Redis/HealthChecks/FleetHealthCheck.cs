using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelCaching.Redis.Instance;

namespace ModelCaching.Redis.HealthChecks;

/// <summary>
/// The fleet's control plane as seen from this instance: Healthy when Redis is reachable and every fleet model may follow
/// its desired version; Degraded when Redis is unreachable, a desired record was refused (signature) or is gone (Redis
/// restarted empty). Never Unhealthy: the models keep serving what they have, and their own checks say how they are.
/// </summary>
internal sealed class FleetHealthCheck(FleetAgent agent) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["fleet"] = agent.Settings.FleetName,
            ["instance"] = agent.Settings.InstanceId,
            ["connected"] = agent.IsConnected,
        };

        if (!agent.IsConnected)
        {
            string since = agent.DisconnectedSince is { } at ? $" since {at:O}" : string.Empty;
            return Task.FromResult(HealthCheckResult.Degraded($"Fleet '{agent.Settings.FleetName}': Redis is unreachable{since}; the models keep serving what they have and catch up when it is back.", data: data));
        }

        var problems = new List<string>();
        foreach (FleetModelEntry entry in agent.Models)
        {
            if (entry.Refusal is { } refusal)
            {
                problems.Add($"model '{entry.Name}': refused the desired record ({refusal})");
            }
            else if (entry.Missing)
            {
                problems.Add($"model '{entry.Name}': Redis has no desired version any more (was {entry.Accepted?.VersionId})");
            }
        }

        return Task.FromResult(problems.Count == 0
            ? HealthCheckResult.Healthy($"Fleet '{agent.Settings.FleetName}': connected to Redis.", data)
            : HealthCheckResult.Degraded($"Fleet '{agent.Settings.FleetName}': " + string.Join("; ", problems) + ".", data: data));
    }
}
