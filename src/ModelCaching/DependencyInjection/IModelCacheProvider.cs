namespace ModelCaching;

/// <summary>
/// Gives access to every model by name: those added with <c>AddModelCache().AddModel(...)</c> or
/// <c>AddModels(...)</c>, those ModelCaching.ML's <c>AddPredictionEnginePool</c> registers (its default model is
/// named <c>default</c>), and those made at run time from a template (<c>AddModelTemplate</c>).
/// </summary>
public interface IModelCacheProvider
{
    /// <summary>
    /// The names of the registered models, in registration order, then those of the models made from templates so far
    /// (in ordinal order; evicted ones included, ones whose first load failed not).
    /// </summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>
    /// Returns the cache of the model <paramref name="name"/>: a registered model, or one made from the template that
    /// serves the name (made on first use, found afterwards).
    /// </summary>
    /// <exception cref="ModelNotFoundException">No model has that name and no template serves it; the message lists the known names and templates (a <see cref="KeyNotFoundException"/>).</exception>
    /// <exception cref="InvalidModelNameException">A template serves the name, but the name is not valid (<see cref="ModelNames"/>; an <see cref="ArgumentException"/>).</exception>
    /// <exception cref="InvalidOperationException">The model was registered with another model type.</exception>
    IModelCache<TModel> GetCache<TModel>(string name)
        where TModel : class;

    /// <summary>Returns the cache of the model <paramref name="name"/> without knowing its type (for status and admin endpoints).</summary>
    /// <exception cref="ModelNotFoundException">No model has that name and no template serves it; the message lists the known names and templates (a <see cref="KeyNotFoundException"/>).</exception>
    /// <exception cref="InvalidModelNameException">A template serves the name, but the name is not valid (<see cref="ModelNames"/>; an <see cref="ArgumentException"/>).</exception>
    IModelCache GetCache(string name);

    /// <summary>
    /// Finds the cache of the model <paramref name="name"/> if the provider has it now: a registered model, or one made
    /// from a template and still kept. Never makes a model from a template (nor loads one): for status reads.
    /// </summary>
    /// <returns><see langword="false"/> for a name no model is registered under and no template model has now.</returns>
    bool TryGetCache(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IModelCache? cache);

    /// <summary>The memory budgets (the provider's and each template's that has one), with what counts against them now.</summary>
    IReadOnlyList<ModelMemoryBudgetStatus> GetMemoryBudgets();
}
