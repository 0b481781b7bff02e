using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelCaching.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps readiness and liveness endpoints for an application that serves cached models.</summary>
public static class ModelCacheHealthEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <paramref name="readyPattern"/> (runs the checks tagged <see cref="ModelCacheHealthChecks.ReadyTag"/>:
    /// 503 until every eager model serves, 200 when serving, also when serving the last good version after a failed
    /// reload) and <paramref name="livePattern"/> (runs the checks tagged <see cref="ModelCacheHealthChecks.LiveTag"/>,
    /// if any: 200 while the process answers). Both answer with a JSON report.
    /// </summary>
    /// <remarks>
    /// Register the model checks first: <c>services.AddHealthChecks().AddModelCache(tags: [ModelCacheHealthChecks.ReadyTag])</c>.
    /// The endpoints are anonymous unless you add a convention to the returned group (probes usually cannot authenticate).
    /// </remarks>
    /// <param name="endpoints">The application's endpoint builder.</param>
    /// <param name="readyPattern">The readiness route. The default is <c>/health/ready</c>.</param>
    /// <param name="livePattern">The liveness route. The default is <c>/health/live</c>.</param>
    /// <returns>A group holding both endpoints, to add conventions to them (host filtering, authorization).</returns>
    /// <exception cref="InvalidOperationException"><c>AddHealthChecks</c> was not called.</exception>
    public static RouteGroupBuilder MapModelCacheHealthChecks(this IEndpointRouteBuilder endpoints, string readyPattern = "/health/ready", string livePattern = "/health/live")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(readyPattern);
        ArgumentException.ThrowIfNullOrWhiteSpace(livePattern);

        RouteGroupBuilder group = endpoints.MapGroup(string.Empty);
        group.MapHealthChecks(readyPattern, new HealthCheckOptions
        {
            Predicate = static registration => registration.Tags.Contains(ModelCacheHealthChecks.ReadyTag),
            ResponseWriter = ModelCacheHealthChecks.WriteJsonResponse,
        });
        group.MapHealthChecks(livePattern, new HealthCheckOptions
        {
            Predicate = static registration => registration.Tags.Contains(ModelCacheHealthChecks.LiveTag),
            ResponseWriter = ModelCacheHealthChecks.WriteJsonResponse,
        });
        return group;
    }
}
