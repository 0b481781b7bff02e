using Microsoft.ML;

namespace ModelCaching.ML.Tests.Support;

/// <summary>Builds a model cache over a real model file and a prediction pool over it, without DI.</summary>
public static class PoolFactory
{
    public static readonly MLContext Context = new(seed: 1);

    public static ModelCache<ITransformer> Cache<TData, TPrediction>(string path, string name = "model")
        where TData : class
        where TPrediction : class, new()
    {
        var options = new ModelOptions<ITransformer>
        {
            Source = new FileModelSource(path),
            Loader = new MLNetModelLoader(Context),
            DrainDelay = TimeSpan.Zero,
            RetryBaseDelay = TimeSpan.Zero,
        };
        options.Validators.Add(PredictionSchema.CreateValidator<TData, TPrediction>(Context, name));
        return new ModelCache<ITransformer>(name, options);
    }

    public static PredictionPool<TData, TPrediction> Pool<TData, TPrediction>(IModelCache<ITransformer> cache, Action<PredictionPoolOptions>? configure = null)
        where TData : class
        where TPrediction : class, new()
    {
        var options = new PredictionPoolOptions();
        configure?.Invoke(options);
        return new PredictionPool<TData, TPrediction>(cache, Context, options);
    }
}
