using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ModelCaching;
using ModelCaching.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds model cache health checks.</summary>
public static class ModelCacheHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check for one model, or for every registered model when <paramref name="modelName"/> is
    /// <see langword="null"/> (the worst state wins). Healthy: serving. Degraded: serving the last good model
    /// after a failed reload. Unhealthy: an eager model not loaded yet, or nothing serving after a failure.
    /// Tag it (<c>"ready"</c>, say) to use it as a readiness probe. It also registers the hosted start-up
    /// (<see cref="ModelCacheHostingBuilderExtensions.AddHostedStartup"/>): an eager model would otherwise report
    /// Unhealthy until its first use, and a readiness probe would keep the traffic that makes that use away. The host fails to start, with a message saying
    /// what to add, when the model cache is not registered (<c>services.AddModelCache()</c> or
    /// <c>AddPredictionEnginePool</c>) or <paramref name="modelName"/> names no registered model.
    /// </summary>
    public static IHealthChecksBuilder AddModelCache(
        this IHealthChecksBuilder builder,
        string? modelName = null,
        string? name = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(new ModelCacheHealthCheckTarget(modelName));
        ModelCacheHostingBuilderExtensions.AddStartupService(builder.Services);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HealthCheckServiceOptions>, ModelCacheHealthCheckValidator>());
        builder.Services.AddOptions<HealthCheckServiceOptions>().ValidateOnStart();
        return builder.Add(new HealthCheckRegistration(
            name ?? (modelName is null ? "modelcache" : $"modelcache:{modelName}"),
            sp => new ModelCacheHealthCheck(sp.GetRequiredService<IModelCacheProvider>(), modelName),
            failureStatus,
            tags));
    }
}
