using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelCaching.Redis.HealthChecks;
using ModelCaching.Redis.Instance;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the fleet's control-plane health check.</summary>
public static class RedisFleetHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check of the fleet's control plane on this instance: Healthy when Redis is reachable; Degraded when it is
    /// not, or a desired record was refused or is gone. Never Unhealthy: the models keep serving (their own checks,
    /// <c>AddModelCache()</c> in ModelCaching.Hosting, report them). Needs <c>AddRedisFleet</c>.
    /// </summary>
    public static IHealthChecksBuilder AddRedisFleet(this IHealthChecksBuilder builder, string name = "modelcache-fleet", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return builder.Add(new HealthCheckRegistration(name, static sp => new FleetHealthCheck(sp.GetRequiredService<FleetAgent>()), HealthStatus.Degraded, tags));
    }
}
