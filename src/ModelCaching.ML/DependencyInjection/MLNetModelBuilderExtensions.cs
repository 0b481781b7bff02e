using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using ModelCaching;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>ML.NET support for models registered with <c>AddModelCache().AddModel&lt;ITransformer&gt;(...)</c>.</summary>
public static class MLNetModelBuilderExtensions
{
    /// <summary>
    /// Loads the model with ML.NET (<c>MLContext.Model.Load</c>), with the application's shared
    /// <see cref="MLContext"/> from <see cref="MLOptions"/>.
    /// </summary>
    public static ModelBuilder<ITransformer> UseMLNet(this ModelBuilder<ITransformer> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<MLOptions>();
        return builder.UseLoader(static services => new MLNetModelLoader(services.GetRequiredService<IOptions<MLOptions>>().Value.MLContext));
    }

    /// <summary>
    /// Checks every new generation of the model against <typeparamref name="TData"/> (its input) and
    /// <typeparamref name="TPrediction"/> (its output) before it serves: column names and types, then one
    /// prediction engine. A model that does not fit is rejected with a <see cref="ModelSchemaException"/>
    /// naming the column and both types; the last good model keeps serving.
    /// </summary>
    /// <param name="builder">The model.</param>
    /// <param name="engineOptions">ML.NET's engine options, when the engines use custom schema definitions.</param>
    public static ModelBuilder<ITransformer> ValidateSchema<TData, TPrediction>(this ModelBuilder<ITransformer> builder, PredictionEngineOptions? engineOptions = null)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        string name = builder.Name;
        builder.Services.AddOptions<MLOptions>();
        return builder.Configure((options, services) =>
        {
            MLContext context = services.GetRequiredService<IOptions<MLOptions>>().Value.MLContext;
            options.Validators.Add(PredictionSchema.CreateValidator<TData, TPrediction>(context, name, engineOptions));
        });
    }

    /// <summary>
    /// Gives the model a pool of prediction engines for <typeparamref name="TData"/> → <typeparamref name="TPrediction"/>,
    /// reachable as <c>[FromKeyedServices(name)] PredictionPool&lt;TData, TPrediction&gt;</c> and through
    /// <see cref="PredictionPoolProvider{TData, TPrediction}"/>; also checks each new generation's schema
    /// against the two types (<see cref="ValidateSchema"/>).
    /// </summary>
    public static ModelBuilder<ITransformer> WithPredictionPool<TData, TPrediction>(this ModelBuilder<ITransformer> builder, Action<PredictionPoolOptions>? configure = null)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        var poolOptions = new PredictionPoolOptions();
        configure?.Invoke(poolOptions);

        IServiceCollection services = builder.Services;
        services.AddSingleton(new PredictionPoolRegistration(builder.Name, typeof(TData), typeof(TPrediction)));
        services.TryAddSingleton<PredictionPoolProvider<TData, TPrediction>>();
        PredictionPoolMetrics.Register(services);
        services.AddKeyedSingleton(builder.Name, (sp, key) =>
        {
            // The pools' instruments on the application's IMeterFactory, created with the first pool.
            _ = sp.GetService<PredictionPoolMetrics>();
            return new PredictionPool<TData, TPrediction>(
                sp.GetRequiredKeyedService<IModelCache<ITransformer>>(key),
                sp.GetRequiredService<IOptions<MLOptions>>().Value.MLContext,
                poolOptions,
                sp.GetService<ILoggerFactory>());
        });

        // A mistyped name in [FromKeyedServices("…")] gets the provider's KeyNotFoundException listing the pools,
        // not the container's generic "no keyed service" error (known names have their own registration).
        if (!services.Any(static d => d.ServiceType == typeof(PredictionPool<TData, TPrediction>) && d.IsKeyedService && Equals(d.ServiceKey, KeyedService.AnyKey)))
        {
            services.AddKeyedSingleton(KeyedService.AnyKey, static (sp, key) => sp.GetRequiredService<PredictionPoolProvider<TData, TPrediction>>().GetPool(key as string ?? key?.ToString() ?? string.Empty));
        }

        return builder.ValidateSchema<TData, TPrediction>(poolOptions.EngineOptions);
    }
}
