namespace ModelCaching;

/// <summary>One model registered through <c>AddModel</c>: its name, its type, and how to build its cache.</summary>
// policy: reads the load policy from the options without building the cache, so a lazy model costs nothing until its first use (null: only the cache knows).
internal sealed class ModelRegistration(string name, Type modelType, Func<IServiceProvider, ModelCacheProvider, IModelCache> factory, Func<IServiceProvider, ModelLoadPolicy>? policy = null)
{
    public string Name { get; } = name;

    public Type ModelType { get; } = modelType;

    public ModelLoadPolicy? PolicyOf(IServiceProvider services) => policy?.Invoke(services);

    public IModelCache Create(IServiceProvider services, ModelCacheProvider provider) => factory(services, provider);
}
