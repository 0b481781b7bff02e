using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.Samples.WebApi.Prediction;

namespace ModelCaching.Samples.WebApi.Tenants;

/// <summary>
/// Predicts with a tenant's model: finds (or makes, from the template) the tenant's cache through
/// <see cref="IModelCacheProvider"/> on every call, and predicts with a pool of engines kept per cache.
/// </summary>
/// <remarks>
/// This is the one place that knows how a tenant's prediction is made. Once <c>WithPredictionPool</c> serves template
/// models, it becomes <c>PredictionPoolProvider&lt;TaxiTrip, TaxiFarePrediction&gt;.Predict(modelName, trip)</c>.
/// Pools are keyed by the cache instance, not the name, and made only after the model has loaded: a name whose first
/// load fails is dropped by the provider (its cache disposes itself), and must leave no pool behind.
/// </remarks>
public sealed class TenantPredictor : IDisposable
{
    private readonly IModelCacheProvider _provider;
    private readonly MLContext _context;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentDictionary<IModelCache<ITransformer>, PredictionPool<TaxiTrip, TaxiFarePrediction>> _pools = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _creating = new();

    /// <summary>Creates the predictor; the container does this.</summary>
    public TenantPredictor(IModelCacheProvider provider, IOptions<MLOptions> options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _provider = provider;
        _context = options.Value.MLContext;
        _loggerFactory = loggerFactory;
    }

    /// <summary>Predicts the fare of <paramref name="trip"/> with the model <paramref name="modelName"/>.</summary>
    /// <exception cref="ModelLoadException">The model could not be loaded (its file does not exist, is corrupt, or the load timed out).</exception>
    /// <exception cref="ArgumentException">The name breaks <see cref="ModelNames"/>.</exception>
    public async ValueTask<(TaxiFarePrediction Prediction, ModelVersion? Version)> PredictAsync(string modelName, TaxiTrip trip, CancellationToken cancellationToken)
    {
        IModelCache<ITransformer> cache = _provider.GetCache<ITransformer>(modelName);
        if (cache.Version is null)
        {
            try
            {
                // Not loaded (first use, or evicted): load without holding a request thread; the pool's Predict would block on it.
                await cache.GetModelAsync(cancellationToken);
            }
            catch (ObjectDisposedException)
            {
                // The cache was dropped between the lookup and the load (another request's first load of this name had
                // just failed): ask the provider again, which makes a fresh cache and loads it (or fails the same way).
                cache = _provider.GetCache<ITransformer>(modelName);
                await cache.GetModelAsync(cancellationToken);
            }
        }

        PredictionPool<TaxiTrip, TaxiFarePrediction> pool = _pools.TryGetValue(cache, out PredictionPool<TaxiTrip, TaxiFarePrediction>? existing) ? existing : CreatePool(cache);
        TaxiFarePrediction prediction = pool.Predict(trip);
        return (prediction, cache.Version);
    }

    /// <summary>Disposes the pools' idle engines (the caches belong to the provider).</summary>
    public void Dispose()
    {
        foreach (PredictionPool<TaxiTrip, TaxiFarePrediction> pool in _pools.Values)
        {
            pool.Dispose();
        }

        _pools.Clear();
    }

    // Once per tenant model, under a lock so that two first requests do not make two pools (a pool registers itself
    // for metrics, so a pool made and dropped would stay referenced).
    private PredictionPool<TaxiTrip, TaxiFarePrediction> CreatePool(IModelCache<ITransformer> cache)
    {
        lock (_creating)
        {
            if (!_pools.TryGetValue(cache, out PredictionPool<TaxiTrip, TaxiFarePrediction>? pool))
            {
                pool = new PredictionPool<TaxiTrip, TaxiFarePrediction>(cache, _context, options: null, _loggerFactory);
                _pools[cache] = pool;
            }

            return pool;
        }
    }
}
