using Microsoft.ML;
using ModelCaching.ML;
using ModelCaching.Samples.WebApi.Prediction;

namespace ModelCaching.Samples.WebApi.Tenants;

/// <summary>
/// Predicts with a tenant's model: the model made from the "tenants" template on first use (and found afterwards), and
/// the prediction pool its template gives it (<c>WithPredictionPool</c>), both through the providers.
/// </summary>
/// <remarks>
/// This is the one place that knows how a tenant's prediction is made. A model that is not in memory (first use, or
/// evicted) is loaded asynchronously first, so that no request thread blocks on a load.
/// </remarks>
public sealed class TenantPredictor(IModelCacheProvider models, PredictionPoolProvider<TaxiTrip, TaxiFarePrediction> pools)
{
    /// <summary>Predicts the fare of <paramref name="trip"/> with the model <paramref name="modelName"/>.</summary>
    /// <exception cref="ModelLoadException">The model could not be loaded (its file does not exist, is corrupt, or the load timed out).</exception>
    /// <exception cref="ArgumentException">The name breaks <see cref="ModelNames"/>.</exception>
    public async ValueTask<(TaxiFarePrediction Prediction, ModelVersion? Version)> PredictAsync(string modelName, TaxiTrip trip, CancellationToken cancellationToken)
    {
        IModelCache<ITransformer> cache = models.GetCache<ITransformer>(modelName);
        if (cache.Version is null)
        {
            // Not loaded (first use, or evicted): load without holding a request thread; the pool's Predict would block on it.
            // A name whose first load fails throws its ModelLoadException here, also for a caller that raced it.
            await cache.GetModelAsync(cancellationToken);
        }

        TaxiFarePrediction prediction = pools.Predict(modelName, trip);
        return (prediction, cache.Version);
    }
}
