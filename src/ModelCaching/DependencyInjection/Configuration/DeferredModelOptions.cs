using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace ModelCaching;

/// <summary>
/// The options of the models <c>AddModels</c> discovers, made once per service provider: by the check at start
/// (<see cref="ModelCacheStartupCheck"/>), which reports their problems with every other one, and taken by the provider
/// when it creates their caches, so that the extension's configure callback (which may create the model's source) runs
/// once per model. Without a host nothing checks first, and the provider makes them when it creates the cache.
/// </summary>
internal sealed class DeferredModelOptions
{
    private readonly ConcurrentDictionary<(Type ModelType, string Name), ModelOptions> _options = new();

    /// <summary>The options of model <paramref name="name"/>, made by <paramref name="make"/> the first time.</summary>
    /// <exception cref="OptionsValidationException">Binding configuration failed (a value that is none of its enum's names).</exception>
    public ModelOptions<TModel> Get<TModel>(string name, IServiceProvider services, Func<string, IServiceProvider, ModelOptions<TModel>> make)
        where TModel : class =>
        (ModelOptions<TModel>)_options.GetOrAdd((typeof(TModel), name), static (key, state) => state.make(key.Name, state.services), (make, services));

    /// <summary>The problems of model <paramref name="name"/>'s options, for the check at start.</summary>
    public IReadOnlyList<string> Problems<TModel>(string name, IServiceProvider services, Func<string, IServiceProvider, ModelOptions<TModel>> make)
        where TModel : class
    {
        try
        {
            return [.. Get(name, services, make).Validate(name)];
        }
        catch (OptionsValidationException ex)
        {
            return [.. ex.Failures];
        }
    }
}
