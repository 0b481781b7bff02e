using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// The engines' pools of the models that a <see cref="PredictionEnginePool{TData, TPrediction}"/> serves from the
/// application's <see cref="IModelCacheProvider"/> with no <see cref="ModelLoader"/> of its own (a template's models,
/// <c>AddModel&lt;ITransformer&gt;</c> ones). Each pool is kept with the provider's cache, keyed by the cache, not by
/// name: a name the provider forgets (its first load failed) takes its pool with it; the next call gets a new one.
/// </summary>
internal sealed class ProviderModelPools<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    private readonly IServiceProvider _services;
    private readonly MLContext _context;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly IModelCacheProvider? _provider;
    private readonly ConditionalWeakTable<IModelCache<ITransformer>, ProviderPool> _pools = [];
    private volatile bool _any;

    public ProviderModelPools(IServiceProvider services, MLContext context, ILoggerFactory? loggerFactory)
    {
        _services = services;
        _context = context;
        _loggerFactory = loggerFactory;
        _provider = services.GetService<IModelCacheProvider>();
    }

    /// <summary>Whether the application has a model cache provider to serve names from.</summary>
    public bool HasProvider => _provider is not null;

    /// <summary>Whether any pool was made (until then a name lookup skips the provider).</summary>
    public bool Any => _any;

    /// <summary>
    /// The pool kept with the provider's cache of <paramref name="modelName"/>, if one was made (lock-free, no allocation
    /// on a hit). A name the provider serves with a loader of the pool's is not here; its lookup misses.
    /// </summary>
    public PredictionPool<TData, TPrediction>? TryGet(string modelName)
    {
        IModelCache<ITransformer> cache;
        try
        {
            cache = _provider!.GetCache<ITransformer>(modelName);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException)
        {
            return null; // the locked path reports it, with the names the pool knows
        }

        return _pools.TryGetValue(cache, out ProviderPool? entry) ? entry.Pool : null;
    }

    /// <summary>The provider's cache of <paramref name="modelName"/>.</summary>
    /// <exception cref="KeyNotFoundException">The provider serves no such name.</exception>
    public IModelCache<ITransformer> GetCache(string modelName) => _provider!.GetCache<ITransformer>(modelName);

    /// <summary>The pool kept with <paramref name="cache"/>, made now if there is none. Called under the creation lock.</summary>
    public PredictionPool<TData, TPrediction> GetOrAdd(string modelName, IModelCache<ITransformer> cache)
    {
        if (!_pools.TryGetValue(cache, out ProviderPool? entry))
        {
            // A model (or template) with WithPredictionPool<TData, TPrediction>() already has a pool, with its options:
            // share it, so an app using both APIs keeps one set of engines per model. Otherwise the pool makes its own.
            entry = _services.GetService<PredictionPoolProvider<TData, TPrediction>>() is { } pools
                && pools.HasPoolFor(modelName, cache)
                ? new ProviderPool(pools.GetPool(modelName), Owned: false)
                : new ProviderPool(new PredictionPool<TData, TPrediction>(cache, _context, options: null, _loggerFactory), Owned: true);
            _pools.Add(cache, entry);
            _any = true;
        }

        return entry.Pool;
    }

    /// <summary>Disposes the pools made here (their engines; the caches are the provider's) and forgets them all.</summary>
    public void Dispose()
    {
        foreach (KeyValuePair<IModelCache<ITransformer>, ProviderPool> entry in _pools)
        {
            if (entry.Value.Owned)
            {
                entry.Value.Pool.Dispose();
            }
        }

        _pools.Clear();
    }

    /// <summary>The engines' pool of a provider's model, and whether it was made here (and so is disposed here).</summary>
    private sealed record ProviderPool(PredictionPool<TData, TPrediction> Pool, bool Owned);
}
