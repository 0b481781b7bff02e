using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using ModelCaching;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>ML.NET support for models registered with <c>AddModelCache().AddModel&lt;ITransformer&gt;(...)</c> or made from a template (<c>AddModelTemplate&lt;ITransformer&gt;(...)</c>).</summary>
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
    /// naming the column and both types; the last good model keeps serving. On a template (<c>AddModelTemplate</c>),
    /// every model made from it is checked.
    /// </summary>
    /// <param name="builder">The model, or a template.</param>
    /// <param name="engineOptions">ML.NET's engine options, when the engines use custom schema definitions.</param>
    public static ModelBuilder<ITransformer> ValidateSchema<TData, TPrediction>(this ModelBuilder<ITransformer> builder, PredictionEngineOptions? engineOptions = null)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<MLOptions>();

        // The name given is the model's own: for a template, each model made from it (messages name the tenant, not the template).
        return builder.Configure((options, services, name) =>
        {
            MLContext context = services.GetRequiredService<IOptions<MLOptions>>().Value.MLContext;
            options.Validators.Add(PredictionSchema.CreateValidator<TData, TPrediction>(context, name, engineOptions));
        });
    }

    /// <summary>
    /// Gives the model a pool of prediction engines for <typeparamref name="TData"/> → <typeparamref name="TPrediction"/>,
    /// reachable as <c>[FromKeyedServices(name)] PredictionPool&lt;TData, TPrediction&gt;</c> and through
    /// <see cref="PredictionPoolProvider{TData, TPrediction}"/>, and as an unkeyed <c>PredictionPool&lt;TData, TPrediction&gt;</c>
    /// when it is the only model with a pool of these types (with several, resolving it unkeyed throws an
    /// <see cref="InvalidOperationException"/> naming them and saying to use <c>[FromKeyedServices("name")]</c>); also checks each new generation's schema
    /// against the two types (<see cref="ValidateSchema"/>). On a template (<c>AddModelTemplate</c>), every model made
    /// from it gets its schema check and a pool of its own, made on first use of its name
    /// (<c>provider.Predict("tenant-42", input)</c>).
    /// </summary>
    public static ModelBuilder<ITransformer> WithPredictionPool<TData, TPrediction>(this ModelBuilder<ITransformer> builder, Action<PredictionPoolOptions>? configure = null)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        var poolOptions = new PredictionPoolOptions();
        configure?.Invoke(poolOptions);

        IServiceCollection services = builder.Services;
        services.AddOptions<MLOptions>();
        services.TryAddSingleton<PredictionPoolProvider<TData, TPrediction>>();
        PredictionPoolMetrics.Register(services);
        AddUnknownNameFallback<TData, TPrediction>(services);

        // Unkeyed too, as Microsoft.Extensions.ML users inject PredictionEnginePool: a minimal-API parameter without
        // [FromKeyedServices] is then a service (IServiceProviderIsService), and resolves to the one pool of these types,
        // or throws naming the models and the attribute to use when there are several.
        services.TryAddSingleton(static sp => sp.GetRequiredService<PredictionPoolProvider<TData, TPrediction>>().GetOnlyPool());
        if (builder.IsTemplate)
        {
            // No keyed pool under the template's name: each model made from the template gets its own pool, which the
            // provider makes on first use of the model's name (and the AnyKey fallback finds for [FromKeyedServices]).
            var settings = new TemplatePoolSettings<TData, TPrediction>(builder.Name, poolOptions);
            services.AddSingleton(settings);
            return builder.Configure((options, sp, name) =>
                options.Validators.Add(settings.CreateValidator(sp.GetRequiredService<IOptions<MLOptions>>().Value.MLContext, name)));
        }

        services.AddSingleton(new PredictionPoolRegistration(builder.Name, typeof(TData), typeof(TPrediction)));
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

        return builder.ValidateSchema<TData, TPrediction>(poolOptions.EngineOptions);
    }

    // A name without a registration of its own ([FromKeyedServices("tenant-42")]) goes to the provider: a template's
    // model gets its pool, and a mistyped name the provider's KeyNotFoundException listing the pools instead of the
    // container's generic "no keyed service" error (registered names have their own registration).
    private static void AddUnknownNameFallback<TData, TPrediction>(IServiceCollection services)
        where TData : class
        where TPrediction : class, new()
    {
        if (!services.Any(static d => d.ServiceType == typeof(PredictionPool<TData, TPrediction>) && d.IsKeyedService && Equals(d.ServiceKey, KeyedService.AnyKey)))
        {
            services.AddKeyedSingleton(KeyedService.AnyKey, static (sp, key) => sp.GetRequiredService<PredictionPoolProvider<TData, TPrediction>>().GetPool(key as string ?? key?.ToString() ?? string.Empty));
        }
    }
}
