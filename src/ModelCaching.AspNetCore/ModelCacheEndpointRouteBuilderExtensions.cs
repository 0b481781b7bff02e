using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelCaching;
using ModelCaching.AspNetCore;
using ModelCaching.AspNetCore.Diagnostics;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the model cache's status, reload and rollback endpoints.</summary>
public static class ModelCacheEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>GET {pattern}</c> (every model's status, paged), <c>GET {pattern}/budgets</c> (the memory budgets),
    /// <c>GET {pattern}/{name}</c>, <c>POST {pattern}/{name}/reload</c>
    /// and <c>POST {pattern}/{name}/rollback</c>, all of them requiring the authorization policy
    /// <paramref name="authorizationPolicy"/>.
    /// </summary>
    /// <param name="endpoints">The application's endpoint builder.</param>
    /// <param name="authorizationPolicy">The name of a policy registered with <c>AddAuthorization</c>; callers must satisfy it.</param>
    /// <param name="pattern">The route prefix. The default is <c>/models</c>.</param>
    /// <returns>The route group, to add conventions (tags, rate limits, CORS) to every endpoint.</returns>
    /// <exception cref="InvalidOperationException">The policy is not registered, or <c>AddModelCache</c> / <c>AddAuthorization</c> was not called.</exception>
    public static RouteGroupBuilder MapModelCacheEndpoints(this IEndpointRouteBuilder endpoints, string authorizationPolicy, string pattern = "/models")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(authorizationPolicy);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        return endpoints.MapModelCacheEndpoints(options =>
        {
            options.AuthorizationPolicy = authorizationPolicy;
            options.Pattern = pattern;
        });
    }

    /// <summary>
    /// Maps the model cache's endpoints as <paramref name="configure"/> sets them up:
    /// <c>GET {Pattern}</c> (paged: <c>?offset=0&amp;limit=100&amp;state=</c>), <c>GET {Pattern}/budgets</c> and
    /// <c>GET {Pattern}/{name}</c> (status), <c>POST {Pattern}/{name}/reload</c> and
    /// <c>POST {Pattern}/{name}/rollback</c>. Reload and rollback always require
    /// <see cref="ModelCacheEndpointOptions.AuthorizationPolicy"/>; there is no way to open them to anonymous callers.
    /// </summary>
    /// <remarks>
    /// Responses: <c>200</c> with the model's status; <c>GET {Pattern}</c> answers one page as a JSON array, the
    /// number of matching models in <c>X-Total-Count</c> and RFC 8288 <c>Link</c> relations <c>next</c> / <c>prev</c>,
    /// or <c>400</c> validation problem details naming each bad query parameter; <c>404</c> naming the known models
    /// for a name the provider does not have (a name a template would serve is not made by a status read or an admin request);
    /// <c>502</c> problem details naming the cause when a reload or rollback fails (the last good version keeps
    /// serving); <c>409</c> when there is no previous version to roll back to, or when a reload would load the version a
    /// rollback went back from (<c>POST {Pattern}/{name}/reload?force=true</c> loads it anyway). The history records the user.
    /// </remarks>
    /// <exception cref="InvalidOperationException">
    /// No policy was named, a named policy is not registered, or <c>AddModelCache</c> / <c>AddAuthorization</c> was not called.
    /// </exception>
    public static RouteGroupBuilder MapModelCacheEndpoints(this IEndpointRouteBuilder endpoints, Action<ModelCacheEndpointOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(configure);

        var options = new ModelCacheEndpointOptions();
        configure(options);

        IServiceProvider services = endpoints.ServiceProvider;
        string adminPolicy = ValidatePolicies(options, services);
        IModelCacheProvider provider = services.GetService<IModelCacheProvider>()
            ?? throw new InvalidOperationException("MapModelCacheEndpoints needs the model cache: call services.AddModelCache() and add models with AddModel(...), or register them with services.AddPredictionEnginePool<TData, TPrediction>().FromFile(...), before building the application.");
        ILogger logger = (services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance)
            .CreateLogger("ModelCaching.AspNetCore.ModelCacheEndpoints");
        var handlers = new ModelCacheEndpointHandlers(provider, logger, options.HistoryLength);

        RouteGroupBuilder group = endpoints.MapGroup(options.Pattern).WithTags("Model cache");

        RouteHandlerBuilder all = group.MapGet("/", handlers.GetAll).WithName("ModelCache_GetAll").WithSummary("The status of every model, registered or made from a template, a page at a time (offset, limit), optionally of one state.");
        // A literal segment outranks the {name} parameter in routing, so /budgets is never read as a model's name.
        RouteHandlerBuilder budgets = group.MapGet("/budgets", handlers.GetBudgets).WithName("ModelCache_GetBudgets").WithSummary("The memory budgets: limit, resident, draining and reserved bytes, waiting loads, evictions.");
        RouteHandlerBuilder one = group.MapGet("/{name}", handlers.GetOne).WithName("ModelCache_Get").WithSummary("The status of one model the provider has; a name never used is not made by reading it.");
        string statusAccess;
        if (options.AllowAnonymousStatus)
        {
            all.AllowAnonymous();
            budgets.AllowAnonymous();
            one.AllowAnonymous();
            statusAccess = "anonymous";
        }
        else
        {
            string statusPolicy = options.StatusAuthorizationPolicy ?? adminPolicy;
            all.RequireAuthorization(statusPolicy);
            budgets.RequireAuthorization(statusPolicy);
            one.RequireAuthorization(statusPolicy);
            statusAccess = $"policy '{statusPolicy}'";
        }

        group.MapPost("/{name}/reload", handlers.ReloadAsync)
            .RequireAuthorization(adminPolicy)
            .WithName("ModelCache_Reload")
            .WithSummary("Loads the model from its source now; a failure keeps the last good version serving. The version a rollback went back from needs ?force=true (409 otherwise).");
        group.MapPost("/{name}/rollback", handlers.RollbackAsync)
            .RequireAuthorization(adminPolicy)
            .WithName("ModelCache_Rollback")
            .WithSummary("Goes back to the version that served before the current one.");

        Log.EndpointsMapped(logger, options.Pattern, adminPolicy, statusAccess);
        return group;
    }

    private static string ValidatePolicies(ModelCacheEndpointOptions options, IServiceProvider services)
    {
        if (string.IsNullOrWhiteSpace(options.Pattern))
        {
            throw new InvalidOperationException("MapModelCacheEndpoints needs a route pattern (ModelCacheEndpointOptions.Pattern), such as \"/models\".");
        }

        if (string.IsNullOrWhiteSpace(options.AuthorizationPolicy))
        {
            throw new InvalidOperationException(
                "MapModelCacheEndpoints needs an authorization policy: the endpoints reload and roll back models, so they are never open by default. " +
                "Register one (services.AddAuthorization(o => o.AddPolicy(\"ModelAdmin\", p => p.RequireRole(\"ml-admin\")))) and name it: " +
                "app.MapModelCacheEndpoints(\"ModelAdmin\") or options.AuthorizationPolicy = \"ModelAdmin\".");
        }

        IAuthorizationPolicyProvider policyProvider = services.GetService<IAuthorizationPolicyProvider>()
            ?? throw new InvalidOperationException(
                $"MapModelCacheEndpoints requires authorization services for policy '{options.AuthorizationPolicy}': call services.AddAuthorization(...) and register the policy.");

        EnsurePolicyExists(policyProvider, services, options.AuthorizationPolicy, nameof(ModelCacheEndpointOptions.AuthorizationPolicy), nameof(MapModelCacheEndpoints));
        if (!options.AllowAnonymousStatus && !string.IsNullOrWhiteSpace(options.StatusAuthorizationPolicy))
        {
            EnsurePolicyExists(policyProvider, services, options.StatusAuthorizationPolicy, nameof(ModelCacheEndpointOptions.StatusAuthorizationPolicy), nameof(MapModelCacheEndpoints));
        }

        return options.AuthorizationPolicy;
    }

    internal static void EnsurePolicyExists(IAuthorizationPolicyProvider policyProvider, IServiceProvider services, string policy, string field, string mapper)
    {
        // Only the default provider's policies can be listed up front; a custom provider may create policies on
        // demand, and the authorization middleware reports a missing one at request time.
        if (policyProvider is not DefaultAuthorizationPolicyProvider)
        {
            return;
        }

        AuthorizationOptions authorization = services.GetRequiredService<IOptions<AuthorizationOptions>>().Value;
        if (authorization.GetPolicy(policy) is null)
        {
            throw new InvalidOperationException(
                $"{mapper}: the authorization policy '{policy}' ({field}) is not registered. " +
                $"Add it with services.AddAuthorization(o => o.AddPolicy(\"{policy}\", p => ...)).");
        }
    }
}
