using Microsoft.Extensions.Primitives;
using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// Loads an ML.NET model and says when it changed (as in Microsoft.Extensions.ML). Derive from it to load
/// models from a database, blob storage or memory, and set it as
/// <see cref="PredictionEnginePoolOptions{TData, TPrediction}.ModelLoader"/>: each time the reload token fires,
/// the model cache reloads through its pipeline (schema check, fail-safe, metrics) by calling <see cref="GetModel"/>.
/// </summary>
public abstract class ModelLoader
{
    /// <summary>Gets a token that fires when the model has changed.</summary>
    public abstract IChangeToken GetReloadToken();

    /// <summary>Gets the ML.NET model.</summary>
    public abstract ITransformer GetModel();

    /// <summary>
    /// Where a model cache gets this loader's models: by default the loader is the cache's factory (each load calls
    /// <see cref="GetModel"/>, its reload token triggers reloads, the same instance again is "unchanged"). The loaders
    /// <c>FromFile</c> and <c>FromUri</c> register give the cache their file or address instead, with the ML.NET loader.
    /// </summary>
    internal virtual void ConfigureCache(ModelOptions<ITransformer> options, MLContext context) =>
        options.Factory = new ModelLoaderFactory(this);
}
