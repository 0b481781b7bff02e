namespace ModelCaching;

/// <summary>One model registered through <c>AddModel</c>: its name, its type, and how to build its cache.</summary>
internal sealed class ModelRegistration(string name, Type modelType, Func<IServiceProvider, ModelCacheProvider, IModelCache> factory)
{
    public string Name { get; } = name;

    public Type ModelType { get; } = modelType;

    public IModelCache Create(IServiceProvider services, ModelCacheProvider provider) => factory(services, provider);
}
