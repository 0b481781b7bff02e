using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// Brings models whose names are known only at run time into the fleet: those made from a template (<c>AddModelTemplate</c>:
/// <c>tenant-a</c> when it is first used) and those <c>AddModels</c> discovers. Each covered one gets a fleet source, as
/// <c>AddRedisFleet</c> gives the models added with <c>AddModel</c>, when the provider makes it; a name nobody used yet
/// has no cache, no fleet entry and costs nothing. A desired record published for a name before an instance made it
/// waits in Redis: the name's first fetch reads it.
/// </summary>
internal sealed class FleetRuntimeModels : IRuntimeModelOptions
{
    public void Configure<TModel>(string modelName, string? templateName, ModelOptions<TModel> options, IServiceProvider services)
        where TModel : class
    {
        InstancePlacement? placement = null;
        if (services.GetRequiredService<InstancePlacement>() is { } candidate && candidate.IsPlaced(templateName))
        {
            // Before the cache exists: a name another instance owns makes no cache here (and nothing is kept for it).
            candidate.EnsureOwned(modelName);
            placement = candidate;
        }

        bool covered = services.GetRequiredService<FleetSettings>().Covers(modelName, templateName);
        if (covered || placement is not null)
        {
            Wrap(modelName, covered, options, services, placement);
        }
    }

    /// <summary>Wraps the model's source (after its code and configuration set it) in a fleet source.</summary>
    public static void Wrap<TModel>(string modelName, bool covered, ModelOptions<TModel> options, IServiceProvider services, InstancePlacement? placement = null)
        where TModel : class
    {
        // Twice AddRedisFleet wraps once; a model built by a factory has no bytes for the fleet to publish.
        if (options.Source is FleetModelSource || options.Factory is not null)
        {
            return;
        }

        bool resolved = options.Source is null;
        IModelSource? own = options.ResolveSource(services.GetRequiredService<TimeProvider>(), services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance);
        options.Source = new FleetModelSource(modelName, covered, own, ownsInner: own is not null && (resolved || options.OwnsSource), services.GetRequiredService<FleetAgent>(), services.GetRequiredService<FleetContentReader>(), placement);
        options.OwnsSource = true;
    }
}
