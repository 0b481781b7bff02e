using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
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
    /// <exception cref="InvalidOperationException">
    /// <c>AddHealthChecks</c> was not called, or no health check carries the <see cref="ModelCacheHealthChecks.ReadyTag"/>
    /// tag (the readiness probe would report Healthy before any model serves).
    /// </exception>
    public static RouteGroupBuilder MapModelCacheHealthChecks(this IEndpointRouteBuilder endpoints, string readyPattern = "/health/ready", string livePattern = "/health/live")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(readyPattern);
        ArgumentException.ThrowIfNullOrWhiteSpace(livePattern);

        EnsureReadinessChecks(endpoints.ServiceProvider);
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

    // Checked when the endpoints are mapped, so a missing registration stops the application at start instead of
    // a probe that answers 500 (no health check service) or Healthy (no model check) on every call.
    private static void EnsureReadinessChecks(IServiceProvider services)
    {
        if (services.GetService<HealthCheckService>() is null)
        {
            throw new InvalidOperationException(
                "MapModelCacheHealthChecks needs health checks: call services.AddHealthChecks().AddModelCache(tags: [ModelCacheHealthChecks.ReadyTag]) before building the application.");
        }

        HealthCheckServiceOptions options = services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value;
        foreach (HealthCheckRegistration registration in options.Registrations)
        {
            if (registration.Tags.Contains(ModelCacheHealthChecks.ReadyTag))
            {
                return;
            }
        }

        throw new InvalidOperationException(
            $"MapModelCacheHealthChecks: no health check is tagged '{ModelCacheHealthChecks.ReadyTag}', so readiness would report Healthy before any model serves. " +
            "Add services.AddHealthChecks().AddModelCache(tags: [ModelCacheHealthChecks.ReadyTag]).");
    }
}
