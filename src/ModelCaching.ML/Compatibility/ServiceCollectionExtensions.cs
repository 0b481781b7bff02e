using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelCaching.ML.Diagnostics;

namespace ModelCaching.ML.Compatibility;

/// <summary>Registers <see cref="PredictionEnginePool{TData, TPrediction}"/> (the Microsoft.Extensions.ML API on ModelCaching).</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>Adds a <see cref="PredictionEnginePool{TData, TPrediction}"/> and its required services.</summary>
    /// <param name="services">The <see cref="IServiceCollection"/> to add services to.</param>
    /// <returns>A builder to add models with (<c>FromFile</c>, <c>FromUri</c>).</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> AddPredictionEnginePool<TData, TPrediction>(this IServiceCollection services)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddRequiredPredictionEnginePoolServices();
        PredictionEnginePoolModels<TData, TPrediction>.Register(services);
        services.TryAddSingleton<PredictionEnginePool<TData, TPrediction>>();
        return new PredictionEnginePoolBuilder<TData, TPrediction>(services);
    }

    /// <summary>Adds a <see cref="PredictionEnginePool{TData, TPrediction}"/> made by <paramref name="implementationFactory"/>, and its required services.</summary>
    /// <param name="services">The <see cref="IServiceCollection"/> to add services to.</param>
    /// <param name="implementationFactory">Creates the pool.</param>
    /// <returns>A builder to add models with (<c>FromFile</c>, <c>FromUri</c>).</returns>
    public static PredictionEnginePoolBuilder<TData, TPrediction> AddPredictionEnginePool<TData, TPrediction>(this IServiceCollection services, Func<IServiceProvider, PredictionEnginePool<TData, TPrediction>> implementationFactory)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(implementationFactory);
        services.AddRequiredPredictionEnginePoolServices();
        PredictionEnginePoolModels<TData, TPrediction>.Register(services);
        services.AddSingleton(implementationFactory);
        return new PredictionEnginePoolBuilder<TData, TPrediction>(services);
    }

    /// <summary>
    /// Adds only the services a <see cref="PredictionEnginePool{TData, TPrediction}"/> needs: logging, options, the
    /// ML.NET context's log, and the model cache (<c>AddModelCache()</c>) whose named models serve the pools, so they
    /// show in <see cref="IModelCacheProvider"/>, health checks, the status endpoints and metrics.
    /// </summary>
    /// <param name="services">The <see cref="IServiceCollection"/> to add services to.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddRequiredPredictionEnginePoolServices(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddLogging();
        services.AddOptions();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<MLOptions>, MLContextLogForwarder>());
        services.AddModelCache();
        PredictionPoolMetrics.Register(services);
        return services;
    }
}
