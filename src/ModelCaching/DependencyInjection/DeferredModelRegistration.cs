namespace ModelCaching;

/// <summary>Models registered through <c>AddModels</c>: their names are discovered when the provider is built.</summary>
// problems: the problems of one discovered model's options, for the check at start (ModelCacheStartupCheck).
internal sealed class DeferredModelRegistration(Type modelType, Func<IServiceProvider, IEnumerable<string>> discoverNames, Func<string, IServiceProvider, ModelCacheProvider, IModelCache> factory, Func<string, IServiceProvider, IReadOnlyList<string>> problems)
{
    public Type ModelType { get; } = modelType;

    public IEnumerable<string> DiscoverNames(IServiceProvider services) => discoverNames(services);

    public ModelRegistration ForName(string name) => new(name, ModelType, (sp, provider) => factory(name, sp, provider));

    /// <summary>The problems of the options of the discovered model <paramref name="name"/>.</summary>
    public IReadOnlyList<string> Problems(string name, IServiceProvider services) => problems(name, services);
}
