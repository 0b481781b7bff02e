using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelCaching.Diagnostics;

namespace ModelCaching;

/// <summary>
/// Creates each registered model's cache on first request and owns it: disposing the provider (at host
/// shutdown) disposes every cache, newest first.
/// </summary>
internal sealed class ModelCacheProvider : IModelCacheProvider, IAsyncDisposable, IDisposable
{
    private readonly IServiceProvider _services;
    private readonly Dictionary<string, ModelRegistration> _registrations;
    private readonly ConcurrentDictionary<string, Lazy<IModelCache>> _caches = new(StringComparer.Ordinal);
    private readonly ConcurrentStack<IModelCache> _created = new();

    public ModelCacheProvider(IServiceProvider services, IEnumerable<ModelRegistration> registrations, IEnumerable<DeferredModelRegistration> deferred, IOptions<ModelCacheOptions> options, TimeProvider timeProvider, ILoggerFactory loggerFactory, ModelCacheMetrics metrics)
    {
        _services = services;
        _registrations = new Dictionary<string, ModelRegistration>(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (ModelRegistration registration in registrations)
        {
            if (_registrations.TryAdd(registration.Name, registration))
            {
                names.Add(registration.Name);
            }
        }

        foreach (DeferredModelRegistration group in deferred)
        {
            foreach (string name in group.DiscoverNames(services))
            {
                if (!_registrations.TryAdd(name, group.ForName(name)))
                {
                    throw new InvalidOperationException($"Model '{name}' is registered twice (by AddModel and by an extension such as AddPredictionEnginePool, or by two prediction engine pools): give each model its own name.");
                }

                names.Add(name);
            }
        }

        Names = names;
        TimeProvider = timeProvider;
        LoggerFactory = loggerFactory;
        Metrics = metrics;
        LoadLimiter = new ModelLoadLimiter(options.Value.MaxConcurrentLoads);
    }

    public IReadOnlyList<string> Names { get; }

    internal TimeProvider TimeProvider { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal ModelCacheMetrics Metrics { get; }

    internal ModelLoadLimiter LoadLimiter { get; }

    public IModelCache<TModel> GetCache<TModel>(string name)
        where TModel : class
    {
        IModelCache cache = GetCache(name);
        return cache as IModelCache<TModel>
            ?? throw new InvalidOperationException($"Model '{name}' is registered as {cache.ModelType.FullName}, not {typeof(TModel).FullName}.");
    }

    public IModelCache GetCache(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_caches.TryGetValue(name, out Lazy<IModelCache>? existing))
        {
            return existing.Value;
        }

        if (!_registrations.TryGetValue(name, out ModelRegistration? registration))
        {
            string known = Names.Count == 0 ? "none are registered" : "known models: " + string.Join(", ", Names.Select(static n => $"'{n}'"));
            throw new KeyNotFoundException($"No model named '{name}' is registered with AddModelCache().AddModel(...); {known}.");
        }

        Lazy<IModelCache> lazy = _caches.GetOrAdd(name, static (_, state) => new Lazy<IModelCache>(() => state.Provider.Create(state.Registration)), (Provider: this, Registration: registration));
        return lazy.Value;
    }

    /// <summary>Whether the cache of <paramref name="name"/> has been built (by a first use, or at start for an eager model).</summary>
    internal bool IsCreated(string name) => _caches.ContainsKey(name);

    /// <summary>The load policy of a registered model, read from its options without building its cache; <see langword="null"/> when unknown until the cache is built.</summary>
    internal ModelLoadPolicy? PolicyOf(string name) => _registrations.TryGetValue(name, out ModelRegistration? registration) ? registration.PolicyOf(_services) : null;

    /// <summary>Every model name the services register, static and discovered, without building a provider.</summary>
    internal static HashSet<string> RegisteredNames(IServiceProvider services)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (ModelRegistration registration in services.GetServices<ModelRegistration>())
        {
            names.Add(registration.Name);
        }

        foreach (DeferredModelRegistration group in services.GetServices<DeferredModelRegistration>())
        {
            names.UnionWith(group.DiscoverNames(services));
        }

        return names;
    }

    internal static ModelCache<TModel> CreateCache<TModel>(string name, IServiceProvider services, ModelCacheProvider provider)
        where TModel : class
    {
        ModelOptions<TModel> options = services.GetRequiredService<IOptionsMonitor<ModelOptions<TModel>>>().Get(name);
        return new ModelCache<TModel>(name, options, provider.TimeProvider, provider.LoggerFactory, provider.Metrics, provider.LoadLimiter);
    }

    public void Dispose()
    {
        while (_created.TryPop(out IModelCache? cache))
        {
            (cache as IDisposable)?.Dispose();
        }

        LoadLimiter.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        while (_created.TryPop(out IModelCache? cache))
        {
            if (cache is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            }
        }

        LoadLimiter.Dispose();
    }

    private IModelCache Create(ModelRegistration registration)
    {
        IModelCache cache = registration.Create(_services, this);
        _created.Push(cache);
        return cache;
    }
}
