using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// Makes the models of the <see cref="PredictionEnginePool{TData, TPrediction}"/> for one pair of types named models
/// of the model cache: <c>FromFile</c>, <c>FromUri</c> and custom <see cref="ModelLoader"/>s alike, so they are in
/// <see cref="IModelCacheProvider"/>, health checks, endpoints and metrics.
/// </summary>
internal static class PredictionEnginePoolModels<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    /// <summary>Registers the discovery once per pair of types.</summary>
    public static void Register(IServiceCollection services)
    {
        foreach (ServiceDescriptor descriptor in services)
        {
            if (descriptor.ServiceType == typeof(Marker) && !descriptor.IsKeyedService)
            {
                return;
            }
        }

        services.AddSingleton(new Marker());
        services.AddModelCache().AddModels<ITransformer>(Discover, Configure);
    }

    /// <summary>
    /// The pool's model names that have a <see cref="ModelLoader"/>: those added with <c>FromFile</c>/<c>FromUri</c>,
    /// the default model, and every name a <see cref="PredictionEnginePoolOptions{TData, TPrediction}"/> configuration targets.
    /// </summary>
    public static IEnumerable<string> Discover(IServiceProvider services)
    {
        var candidates = new List<string> { string.Empty };
        foreach (PoolModelRegistration registration in services.GetServices<PoolModelRegistration>())
        {
            if (registration.DataType == typeof(TData) && registration.PredictionType == typeof(TPrediction))
            {
                candidates.Add(registration.ModelName);
            }
        }

        // Custom loaders are set through options (services.AddOptions<PredictionEnginePoolOptions<,>>(name).Configure(...)),
        // as in Microsoft.Extensions.ML; every ConfigureNamedOptions variant exposes its Name.
        foreach (IConfigureOptions<PredictionEnginePoolOptions<TData, TPrediction>> configure in services.GetServices<IConfigureOptions<PredictionEnginePoolOptions<TData, TPrediction>>>())
        {
            if (configure.GetType().GetProperty("Name", BindingFlags.Public | BindingFlags.Instance)?.GetValue(configure) is string name)
            {
                candidates.Add(name);
            }
        }

        IOptionsMonitor<PredictionEnginePoolOptions<TData, TPrediction>> monitor = services.GetRequiredService<IOptionsMonitor<PredictionEnginePoolOptions<TData, TPrediction>>>();
        var names = new List<string>();
        foreach (string candidate in candidates.Distinct(StringComparer.Ordinal))
        {
            if (monitor.Get(candidate).ModelLoader is not null)
            {
                names.Add(PredictionEnginePoolDefaults.CacheName(candidate));
            }
        }

        return names;
    }

    /// <summary>Sets up the model cache of one pool model: its source, the ML.NET loader and the schema check of the pool's types.</summary>
    public static void Configure(string cacheName, ModelOptions<ITransformer> options, IServiceProvider services)
    {
        IOptionsMonitor<PredictionEnginePoolOptions<TData, TPrediction>> monitor = services.GetRequiredService<IOptionsMonitor<PredictionEnginePoolOptions<TData, TPrediction>>>();
        ModelLoader loader = (cacheName == PredictionEnginePoolDefaults.ModelName ? monitor.Get(string.Empty).ModelLoader : null)
            ?? monitor.Get(cacheName).ModelLoader
            ?? throw new InvalidOperationException($"Model '{cacheName}' of PredictionEnginePool<{typeof(TData).Name}, {typeof(TPrediction).Name}> has no ModelLoader.");
        MLContext context = services.GetRequiredService<IOptions<MLOptions>>().Value.MLContext;
        loader.ConfigureCache(options, context);
        options.Validators.Add(PredictionSchema.CreateValidator<TData, TPrediction>(context, cacheName));
    }

    /// <summary>Marks the pair of types as registered.</summary>
    private sealed class Marker;
}
