namespace ModelCaching;

/// <summary>Models registered through <c>AddModels</c>: their names are discovered when the provider is built.</summary>
internal sealed class DeferredModelRegistration(Type modelType, Func<IServiceProvider, IEnumerable<string>> discoverNames, Func<string, IServiceProvider, ModelCacheProvider, IModelCache> factory)
{
    public Type ModelType { get; } = modelType;

    public IEnumerable<string> DiscoverNames(IServiceProvider services) => discoverNames(services);

    public ModelRegistration ForName(string name) => new(name, ModelType, (sp, provider) => factory(name, sp, provider));
}
