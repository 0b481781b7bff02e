using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelCaching.Budget;
using ModelCaching.Generations;

namespace ModelCaching;

/// <summary>
/// A template registered with <c>AddModelTemplate</c>: what its builder configured, replayed for each name it serves,
/// so every model made from it gets options (and a source) of its own.
/// </summary>
internal abstract class ModelTemplate(string name, Type modelType)
{
    public string Name { get; } = name;

    public Type ModelType { get; } = modelType;

    /// <summary>Creates the cache of the model <paramref name="modelName"/> (already validated); <paramref name="provider"/> owns it and forgets it if its first load fails.</summary>
    public abstract IModelCache Create(string modelName, IServiceProvider services, ModelCacheProvider provider, MemoryBudget? budget);

    public ModelTemplateOptions Options(IServiceProvider services) => services.GetRequiredService<IOptionsMonitor<ModelTemplateOptions>>().Get(Name);
}

/// <summary>The typed template: the configure steps its <see cref="ModelBuilder{TModel}"/> recorded.</summary>
internal sealed class ModelTemplate<TModel>(string name) : ModelTemplate(name, typeof(TModel))
    where TModel : class
{
    private readonly List<Action<ModelOptions<TModel>, IServiceProvider, string>> _steps = [];

    // The settings of the last model made, which the next may share (TemplateSettings): one snapshot for all of a
    // template's models whose settings do not depend on their name, instead of a copy per name.
    private ModelOptions<TModel>? _shared;

    // The last model's clock, log, metrics, budget and owner: the next model shares them when they are the same objects.
    private ServingServices? _services;

    /// <summary>Records a step of the builder: it runs for each model made, with the model's name.</summary>
    public void Add(Action<ModelOptions<TModel>, IServiceProvider, string> step) => _steps.Add(step);

    /// <summary>The options of the model <paramref name="modelName"/>: the builder's steps, then configuration (<c>ModelCache:Templates:{template}</c>), then extensions (<see cref="IRuntimeModelOptions"/>).</summary>
    public ModelOptions<TModel> OptionsFor(string modelName, IServiceProvider services)
    {
        // A template's models keep no rollback bytes unless asked to: under a budget their raw bytes would be charged
        // beside each model (doubling what a tenant costs), and a per-tenant rollback is the rare case. A template
        // whose models need RollbackAsync sets RollbackRetention in its builder or configuration.
        var options = new ModelOptions<TModel> { RollbackRetention = ModelRollbackRetention.None };
        foreach (Action<ModelOptions<TModel>, IServiceProvider, string> step in _steps)
        {
            step(options, services, modelName);
        }

        services.GetService<ModelCacheConfiguration>()?.BindTemplate(Name, modelName, options);
        ModelContentRoot.ResolveFilePath(options, services);
        foreach (IRuntimeModelOptions extension in services.GetServices<IRuntimeModelOptions>())
        {
            extension.Configure(modelName, Name, options, services);
        }

        return options;
    }

    public override IModelCache Create(string modelName, IServiceProvider services, ModelCacheProvider provider, MemoryBudget? budget)
    {
        ModelOptions<TModel> options = OptionsFor(modelName, services);
        try
        {
            ModelOptions<TModel> settings = Volatile.Read(ref _shared) is { } last && TemplateSettings<TModel>.SameApartFromName(last, options) ? last : options.Snapshot();
            var cache = new ModelCache<TModel>(modelName, options, provider.TimeProvider, provider.LoggerFactory, provider.Metrics, provider.LoadLimiter, budget, owner: provider, Name, settings, Volatile.Read(ref _services));
            Volatile.Write(ref _shared, settings);
            Volatile.Write(ref _services, cache.Changes.Services);
            return cache;
        }
        catch
        {
            // The cache was not made, so nothing owns the source the template made for it.
            if (options.OwnsSource)
            {
                (options.Source as IDisposable)?.Dispose();
            }

            throw;
        }
    }
}
