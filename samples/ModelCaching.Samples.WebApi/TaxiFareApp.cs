using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using ModelCaching.AspNetCore;
using ModelCaching.Fleet;
using ModelCaching.Samples.WebApi.Prediction;
using ModelCaching.Samples.WebApi.Publishing;
using ModelCaching.Samples.WebApi.Security;
using ModelCaching.Samples.WebApi.Tenants;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace ModelCaching.Samples.WebApi;

/// <summary>
/// The taxi-fare prediction API: one ML.NET model (taxi-fare.zip) kept in memory by ModelCaching, reloaded
/// when its file is replaced, with status/reload/rollback endpoints behind an API key, health probes and
/// Prometheus metrics. <c>Program.cs</c> runs it; the tests start it on 127.0.0.1 the same way.
/// </summary>
public static class TaxiFareApp
{
    private static readonly string[] Endpoints =
    [
        "POST /predict                    {vendorId, rateCode, passengerCount, tripTime, tripDistance, paymentType} -> {fareAmount, model, modelVersion, modelGeneration}",
        "POST /tenants/{id}/predict       the same trip, predicted by tenant {id}'s own model (bundled: acme, globex, initech), loaded on first use under a memory budget",
        "GET  /models                     every model's state, version, size, hits and misses, 100 a page (?offset=&limit=&state=evicted) (reader key, or anonymous in Development)",
        "GET  /models/budgets             the memory budgets: limit, resident, draining and reserved bytes, evictions",
        "GET  /models/taxi-fare           one model's status with its recent load attempts",
        "POST /models/taxi-fare/reload    load the file again now (admin key)",
        "POST /models/taxi-fare/rollback  go back to the previous version (admin key)",
        "POST /admin/publish/{v1|v2}      write a bundled model version over the watched file atomically (admin key)",
        "GET  /health/ready               200 when the model is serving, 503 otherwise",
        "GET  /health/live                200 while the process answers",
        "GET  /metrics                    Prometheus metrics (modelcache_* and ASP.NET Core)",
    ];

    private static readonly string[] FleetEndpoints =
    [
        "GET  /fleet                      the fleet: per model the desired version and its rollout, who serves what, who failed why (admin key)",
        "POST /fleet/models/taxi-fare/publish?canary=  body = a model file: every instance (or a canary share first) loads it (admin key)",
        "POST /fleet/models/taxi-fare/rollback|promote|abort|pin|unpin  move the whole fleet (admin key)",
    ];

    /// <summary>The configuration section that makes the sample join a Redis fleet: <c>ModelCache:Fleet</c>.</summary>
    public const string FleetSectionName = "ModelCache:Fleet";

    /// <summary>
    /// The response header that names the fleet instance that answered (<c>ModelCache:Fleet:InstanceId</c>), set on every
    /// answer when the sample is in a fleet with a configured instance id: <c>X-ModelCaching-Instance</c>.
    /// </summary>
    public const string InstanceHeaderName = "X-ModelCaching-Instance";

    /// <summary>Builds the application from command-line <paramref name="args"/> and the appsettings files.</summary>
    /// <param name="args">Command-line arguments; configuration keys work too (<c>--Sample:ModelDirectory=/srv/models</c>).</param>
    /// <param name="configure">Changes the builder before the application is built (the tests quiet the logs with it).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        IConfigurationSection sampleSection = builder.Configuration.GetSection(SampleOptions.SectionName);
        builder.Services.Configure<SampleOptions>(sampleSection);
        SampleOptions sample = sampleSection.Get<SampleOptions>() ?? new SampleOptions();
        string modelPath = sample.ResolveModelPath();

        // The model: loaded at start-up in the background (readiness says when it is serving), reloaded when
        // the file changes, checked against TaxiTrip/TaxiFarePrediction before it serves, and predicted with
        // a pool of engines. Timeouts, retries and size limits come from "ModelCache:Models:taxi-fare".
        IModelCacheBuilder models = builder.Services.AddModelCache(builder.Configuration.GetSection("ModelCache"))
            .AddHostedStartup() // ModelCaching.Hosting: the eager model starts loading when the host starts
            .AddModel<ITransformer>(SampleOptions.ModelName, model => model
                .FromFile(modelPath, watchForChanges: sample.WatchModelFile)
                .UseMLNet()
                .WithPredictionPool<TaxiTrip, TaxiFarePrediction>()
                .Eager());

        // A fleet, when "ModelCache:Fleet" is configured (Configuration = the Redis connection string, FleetName,
        // SigningKey, ...; see docs/fleet.md): the model follows the version published to the fleet in Redis (the file
        // above serves until one is), and the instance reports what it serves. Without the section: one instance, as before.
        IConfigurationSection fleetSection = builder.Configuration.GetSection(FleetSectionName);
        bool fleet = fleetSection.Exists();
        if (fleet)
        {
            models.AddRedisFleet(fleetSection);
        }

        builder.Services.AddSingleton<ModelPublisher>();

        // One model per tenant, made from a template on first use: tenant "acme" is the model "tenant-acme", loaded
        // from tenant-acme.zip. The template's memory budget, idle timeout and load timeout come from
        // "ModelCache:Templates:tenants"; the least valuable tenants are evicted when a load would go over the budget.
        string tenantFiles = Path.Combine(sample.ResolveTenantModelDirectory(), "{name}.zip");
        builder.Services.AddModelCache()
            .AddModelTemplate<ITransformer>(
                TenantIds.TemplateName,
                tenant => tenant
                    .FromFile(tenantFiles)
                    .UseMLNet()
                    .WithPredictionPool<TaxiTrip, TaxiFarePrediction>(),
                template => template.NamePrefix = TenantIds.NamePrefix);
        builder.Services.AddSingleton<TenantPredictor>();

        // Readiness: the model is serving. Liveness: the process answers (a model problem must not restart it).
        builder.Services.AddHealthChecks()
            .AddModelCache(SampleOptions.ModelName, tags: [ModelCacheHealthChecks.ReadyTag])
            .AddCheck("process", static () => HealthCheckResult.Healthy("The process is answering."), tags: [ModelCacheHealthChecks.LiveTag]);
        if (fleet)
        {
            // The fleet's control plane (Redis): Degraded, never Unhealthy, when it is out of reach; the model serves on.
            builder.Services.AddHealthChecks().AddRedisFleet(tags: [ModelCacheHealthChecks.ReadyTag]);
        }

        // Admin endpoints: an API key in the X-Api-Key header ("Admin" section; see docs/security.md).
        builder.Services.AddAuthentication(ApiKeyDefaults.Scheme)
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyDefaults.Scheme, null);
        builder.Services.AddOptions<ApiKeyAuthenticationOptions>(ApiKeyDefaults.Scheme)
            .Bind(builder.Configuration.GetSection(ApiKeyAuthenticationOptions.SectionName));
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ApiKeyDefaults.AdminPolicy, policy => policy.RequireRole(ApiKeyDefaults.AdminRole))
            .AddPolicy(ApiKeyDefaults.ReaderPolicy, policy => policy.RequireRole(ApiKeyDefaults.ReaderRole, ApiKeyDefaults.AdminRole));

        // Metrics: the ModelCaching meter (and ASP.NET Core's) on a Prometheus endpoint, GET /metrics.
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("ModelCaching.Samples.WebApi"))
            .WithMetrics(metrics => metrics
                .AddMeter(ModelCacheDiagnostics.MeterName)
                .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
                .AddPrometheusExporter());

        // Problem details for every error, and 404/400/503 for the model cache's (an unknown tenant, a model that cannot serve).
        builder.Services.AddModelCacheProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, SampleJsonContext.Default));

        configure?.Invoke(builder);
        WebApplication app = builder.Build();

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        if (fleet && fleetSection["InstanceId"] is { Length: > 0 } instanceId)
        {
            // Which fleet instance answered, for a router's logs and scripts/fleet-routing-demo.sh (not a security boundary).
            app.Use((context, next) =>
            {
                context.Response.Headers[InstanceHeaderName] = instanceId;
                return next(context);
            });
        }

        app.UseAuthentication();
        app.UseAuthorization();

        string[] endpoints = fleet ? [.. Endpoints, .. FleetEndpoints] : Endpoints;
        app.MapGet("/", () => TypedResults.Ok(new ApiIndex(SampleOptions.ModelName, modelPath, endpoints)))
            .WithName("Index");
        app.MapPredict();
        app.MapTenantPredict();
        ApiKeyAuthenticationOptions keys = app.Services.GetRequiredService<IOptionsMonitor<ApiKeyAuthenticationOptions>>().Get(ApiKeyDefaults.Scheme);
        app.MapModelCacheEndpoints(options =>
        {
            options.AuthorizationPolicy = ApiKeyDefaults.AdminPolicy;
            options.StatusAuthorizationPolicy = ApiKeyDefaults.ReaderPolicy;
            options.AllowAnonymousStatus = keys.AllowAnonymousStatus;
        });
        app.MapPublish(ApiKeyDefaults.AdminPolicy);
        if (fleet)
        {
            app.MapModelFleetEndpoints(ApiKeyDefaults.AdminPolicy);
        }
        app.MapModelCacheHealthChecks();
        app.MapPrometheusScrapingEndpoint();

        ModelPublisher publisher = app.Services.GetRequiredService<ModelPublisher>();
        string? seededFrom = publisher.PublishSeedModel() ? sample.SeedModel : null;
        LogStartup(app, modelPath, seededFrom, keys, fleet ? app.Services.GetRequiredService<IModelFleet>().FleetName : null);
        return app;
    }

    private static void LogStartup(WebApplication app, string modelPath, string? seededFrom, ApiKeyAuthenticationOptions keys, string? fleetName)
    {
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ModelCaching.Samples.WebApi");
        logger.LogInformation(
            "Serving model '{Model}' from {ModelPath}{Seeded}. Status is {StatusAccess}.",
            SampleOptions.ModelName,
            modelPath,
            seededFrom is null ? "" : $" (started from the bundled {seededFrom})",
            keys.AllowAnonymousStatus ? "open to anonymous callers" : "behind the reader key");
        if (fleetName is not null)
        {
            logger.LogInformation("Member of the Redis fleet '{Fleet}' ({Section}): GET /fleet shows it, POST /fleet/models/{Model}/publish moves it.", fleetName, FleetSectionName, SampleOptions.ModelName);
        }

        if (string.IsNullOrEmpty(keys.AdminKey))
        {
            logger.LogWarning("No admin key is configured (Admin:AdminKey): reload, rollback and publish answer 401 to everyone.");
        }
    }
}
