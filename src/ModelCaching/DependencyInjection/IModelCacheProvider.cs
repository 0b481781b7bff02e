namespace ModelCaching;

/// <summary>
/// Gives access to every registered model by name: those added with <c>AddModelCache().AddModel(...)</c> or
/// <c>AddModels(...)</c>, and those ModelCaching.ML's <c>AddPredictionEnginePool</c> registers (its default model is
/// named <c>default</c>).
/// </summary>
public interface IModelCacheProvider
{
    /// <summary>The names of the registered models, in registration order.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>Returns the cache of the model <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No model has that name; the message lists the known names.</exception>
    /// <exception cref="InvalidOperationException">The model was registered with another model type.</exception>
    IModelCache<TModel> GetCache<TModel>(string name)
        where TModel : class;

    /// <summary>Returns the cache of the model <paramref name="name"/> without knowing its type (for status and admin endpoints).</summary>
    /// <exception cref="KeyNotFoundException">No model has that name; the message lists the known names.</exception>
    IModelCache GetCache(string name);
}
