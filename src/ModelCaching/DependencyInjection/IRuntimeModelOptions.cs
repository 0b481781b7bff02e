namespace ModelCaching;

/// <summary>
/// Changes the options of a model whose name is known only at run time: one made from a template (<c>AddModelTemplate</c>,
/// when its name is first used) or one <c>AddModels</c> discovered. It runs after the model's own steps and configuration,
/// as a named <c>PostConfigure</c> does for a model added with <c>AddModel</c>. Every one registered as a service runs, in
/// order. ModelCaching.Redis's fleet wraps such a model's source with it (the core knows nothing of Redis).
/// </summary>
internal interface IRuntimeModelOptions
{
    /// <param name="modelName">The model's name.</param>
    /// <param name="templateName">The template it is made from, or <see langword="null"/> for a model <c>AddModels</c> discovered.</param>
    /// <param name="options">Its options, before they are validated and the cache is made.</param>
    /// <param name="services">The application's services.</param>
    void Configure<TModel>(string modelName, string? templateName, ModelOptions<TModel> options, IServiceProvider services)
        where TModel : class;
}
