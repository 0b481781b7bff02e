using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ModelCaching.Diagnostics;

/// <summary>
/// Reports one model (or all of them): Healthy when serving, Degraded when serving the last good model
/// after a failed reload, Unhealthy when an eager model has nothing serving or a load failed with nothing serving.
/// </summary>
internal sealed class ModelCacheHealthCheck(IModelCacheProvider provider, string? modelName) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> names = modelName is null ? provider.Names : [modelName];
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        HealthStatus worst = HealthStatus.Healthy;
        var descriptions = new List<string>(names.Count);
        foreach (string name in names)
        {
            IModelCache cache;
            if (modelName is not null)
            {
                cache = provider.GetCache(name);
            }
            else if (!provider.TryGetCache(name, out IModelCache? found))
            {
                // A template's model dropped since Names was read (its first load failed): nothing to report, and
                // GetCache would make it again.
                continue;
            }
            else
            {
                cache = found;
            }

            (HealthStatus status, string description) = Assess(cache);
            if (status < worst)
            {
                worst = status;
            }

            descriptions.Add(description);
            data[name] = new Dictionary<string, object?>
            {
                ["state"] = cache.State.ToString(),
                ["version"] = cache.Version?.Id,
                ["generation"] = cache.Version?.Generation,
                ["loadedAt"] = cache.Version?.LoadedAt,
                ["source"] = cache.SourceDescription,
            };
        }

        if (worst < HealthStatus.Healthy && worst < context.Registration.FailureStatus)
        {
            worst = context.Registration.FailureStatus;
        }

        string summary = descriptions.Count == 0 ? "No models are registered." : string.Join(" ", descriptions);
        return Task.FromResult(new HealthCheckResult(worst, summary, data: data));
    }

    internal static (HealthStatus Status, string Description) Assess(IModelCache cache)
    {
        ModelCacheStatistics statistics = cache.GetStatistics();
        bool eager = cache is IPolicyAwareCache { Policy: ModelLoadPolicy.Eager };
        return statistics.State switch
        {
            ModelCacheState.Ready => (HealthStatus.Healthy, $"Model '{cache.Name}' is serving version {statistics.Version?.Id}."),
            ModelCacheState.Degraded => (HealthStatus.Degraded, $"Model '{cache.Name}' is serving its last good version {statistics.Version?.Id}; the last reload failed: {statistics.LastError}"),
            ModelCacheState.Failed => (HealthStatus.Unhealthy, $"Model '{cache.Name}' has no model serving: {statistics.LastError}"),
            ModelCacheState.NotLoaded or ModelCacheState.Loading when eager => (HealthStatus.Unhealthy, $"Model '{cache.Name}' is not loaded yet."),
            ModelCacheState.NotLoaded or ModelCacheState.Loading => (HealthStatus.Healthy, $"Model '{cache.Name}' loads on first use."),
            ModelCacheState.Evicted => (HealthStatus.Healthy, $"Model '{cache.Name}' was evicted to keep its memory budget and loads on next use."),
            _ => (HealthStatus.Healthy, $"Model '{cache.Name}' is unloaded and loads on next use."),
        };
    }
}
