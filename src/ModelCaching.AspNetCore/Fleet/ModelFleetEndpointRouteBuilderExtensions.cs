using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.AspNetCore.Diagnostics;
using ModelCaching.AspNetCore.Fleet;
using ModelCaching.Fleet;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the endpoints of a fleet of instances (<see cref="IModelFleet"/>): status, publish, rollback, pin, staged rollouts.</summary>
public static class ModelFleetEndpointRouteBuilderExtensions
{
    /// <summary>The largest body <c>POST {pattern}/models/{name}/publish</c> reads: 16 MiB (larger models are published by location).</summary>
    public const long DefaultMaxPublishBytes = 16L * 1024 * 1024;

    /// <summary>
    /// Maps the fleet's endpoints, every one of them requiring <paramref name="authorizationPolicy"/> (name the policy of
    /// <c>MapModelCacheEndpoints</c>): <c>GET {pattern}</c> (per model, how many instances serve which version, which
    /// failed with what, the rollout's stage and reason, and every live instance), and
    /// <c>POST {pattern}/models/{name}/publish</c> (body: the bytes, or JSON <c>{"location","sha256","sizeBytes"}</c>;
    /// query <c>versionId</c>, <c>canary</c> = a share between 0 and 1), <c>…/rollback</c>, <c>…/pin?versionId=</c>,
    /// <c>…/unpin</c>, <c>…/promote</c> and <c>…/abort?reason=</c>. The fleet is the application's <see cref="IModelFleet"/>
    /// (<c>AddRedisFleet</c> in ModelCaching.Redis registers it); this package does not depend on Redis.
    /// </summary>
    /// <remarks>
    /// Responses: <c>200</c> with the new desired record (<c>201</c> with the version for a publish); <c>409</c> problem
    /// details when the change is not possible as asked (nothing published, no older version, a rollout that is not at the
    /// canary stage, a version id taken); <c>400</c> for a bad query or body; <c>413</c> for a body over
    /// <paramref name="maxPublishBytes"/> or larger than the fleet's store takes; <c>503</c> when the fleet's control plane
    /// (Redis) does not answer — instances keep serving what they have.
    /// </remarks>
    /// <param name="endpoints">The application's endpoint builder.</param>
    /// <param name="authorizationPolicy">The name of a policy registered with <c>AddAuthorization</c>; callers must satisfy it for every fleet endpoint.</param>
    /// <param name="pattern">The route prefix. The default is <c>/fleet</c>.</param>
    /// <param name="maxPublishBytes">The largest publish body read. The default is <see cref="DefaultMaxPublishBytes"/>.</param>
    /// <returns>The route group, to add conventions (tags, rate limits) to every endpoint.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="IModelFleet"/> is registered, or the policy is not.</exception>
    public static RouteGroupBuilder MapModelFleetEndpoints(this IEndpointRouteBuilder endpoints, string authorizationPolicy, string pattern = "/fleet", long maxPublishBytes = DefaultMaxPublishBytes)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(authorizationPolicy);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPublishBytes, 1);

        IServiceProvider services = endpoints.ServiceProvider;
        IModelFleet fleet = services.GetService<IModelFleet>()
            ?? throw new InvalidOperationException("MapModelFleetEndpoints needs a fleet: call services.AddModelCache().AddRedisFleet(o => { o.Configuration = \"redis:6379\"; o.FleetName = \"prod\"; }) (ModelCaching.Redis) before building the application.");
        IAuthorizationPolicyProvider policyProvider = services.GetService<IAuthorizationPolicyProvider>()
            ?? throw new InvalidOperationException($"MapModelFleetEndpoints requires authorization services for policy '{authorizationPolicy}': call services.AddAuthorization(...) and register the policy.");
        ModelCacheEndpointRouteBuilderExtensions.EnsurePolicyExists(policyProvider, services, authorizationPolicy, nameof(authorizationPolicy), nameof(MapModelFleetEndpoints));

        ILogger logger = (services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("ModelCaching.AspNetCore.ModelFleetEndpoints");
        var handlers = new ModelFleetEndpointHandlers(fleet, logger, maxPublishBytes);

        // Every endpoint needs the policy: the status shows paths, hosts and error messages, the rest moves the fleet.
        RouteGroupBuilder group = endpoints.MapGroup(pattern).WithTags("Model fleet").RequireAuthorization(authorizationPolicy);
        group.MapGet("/", handlers.GetStatusAsync).WithName("ModelFleet_Status")
            .WithSummary("Per model: the desired version, its rollout and the versions withdrawn, how many instances serve which version, which failed with what; and every live instance.");
        RouteGroupBuilder model = group.MapGroup("/models/{name}");
        model.MapPost("/publish", handlers.PublishAsync).WithName("ModelFleet_Publish")
            .WithSummary("Publishes a new version (the body's bytes, or a JSON location), to every instance or (canary=0.25) to a share of them first.");
        model.MapPost("/rollback", handlers.RollbackAsync).WithName("ModelFleet_Rollback")
            .WithSummary("Every instance goes back to the version published before the one the fleet serves, skipping versions withdrawn (their rollout stopped or was aborted).");
        model.MapPost("/pin", handlers.PinAsync).WithName("ModelFleet_Pin")
            .WithSummary("Holds the fleet on a version (versionId, or the one it serves); publishes are kept but do not move it.");
        model.MapPost("/unpin", handlers.UnpinAsync).WithName("ModelFleet_Unpin")
            .WithSummary("Ends a pin; the newest published version not withdrawn (its rollout stopped or was aborted) becomes the desired one.");
        model.MapPost("/promote", handlers.PromoteAsync).WithName("ModelFleet_Promote")
            .WithSummary("Sends a staged rollout's version from its canaries to every instance.");
        model.MapPost("/abort", handlers.AbortAsync).WithName("ModelFleet_Abort")
            .WithSummary("Takes a staged rollout's canaries back to the version the rest of the fleet serves.");

        Log.FleetEndpointsMapped(logger, fleet.FleetName, pattern, authorizationPolicy);
        return group;
    }
}
