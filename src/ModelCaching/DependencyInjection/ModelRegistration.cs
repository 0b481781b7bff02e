using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ModelCaching;

/// <summary>One model registered through <c>AddModel</c>: its name, its type, and how to build its cache.</summary>
// policy: reads the load policy from the options without building the cache, so a lazy model costs nothing until its first use (null: only the cache knows).
// problems: the problems of its options, for the check at start (null: checked when the cache is made).
internal sealed class ModelRegistration(string name, Type modelType, Func<IServiceProvider, ModelCacheProvider, IModelCache> factory, Func<IServiceProvider, ModelLoadPolicy>? policy = null, Func<IServiceProvider, IReadOnlyList<string>>? problems = null)
{
    public string Name { get; } = name;

    public Type ModelType { get; } = modelType;

    public ModelLoadPolicy? PolicyOf(IServiceProvider services) => policy?.Invoke(services);

    public IModelCache Create(IServiceProvider services, ModelCacheProvider provider) => factory(services, provider);

    /// <summary>The problems of the model's options (binding and validation), without building its cache.</summary>
    public IReadOnlyList<string> Problems(IServiceProvider services) => problems?.Invoke(services) ?? [];

    /// <summary>The problems of the options of the model <paramref name="name"/>: reading them binds and validates them.</summary>
    public static IReadOnlyList<string> OptionsProblems<TModel>(IServiceProvider services, string name)
        where TModel : class
    {
        try
        {
            _ = services.GetRequiredService<IOptionsMonitor<ModelOptions<TModel>>>().Get(name);
            return [];
        }
        catch (OptionsValidationException ex)
        {
            return [.. ex.Failures];
        }
    }

    /// <summary>Every model name the services register, static and discovered, without building a provider.</summary>
    public static HashSet<string> RegisteredNames(IServiceProvider services)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (ModelRegistration registration in services.GetServices<ModelRegistration>())
        {
            names.Add(registration.Name);
        }

        foreach (DeferredModelRegistration group in services.GetServices<DeferredModelRegistration>())
        {
            names.UnionWith(group.DiscoverNames(services));
        }

        return names;
    }
}
