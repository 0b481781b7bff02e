using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelCaching;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds models to a model cache.</summary>
public static partial class ModelCacheBuilderExtensions
{
    /// <summary>
    /// Registers the model <paramref name="name"/>. Its cache is reachable as a keyed service
    /// (<c>[FromKeyedServices("name")] IModelCache&lt;TModel&gt;</c>) and through <see cref="IModelCacheProvider"/>.
    /// Adding the same name again adds to its configuration.
    /// </summary>
    /// <exception cref="InvalidOperationException">The name is already registered with another model type.</exception>
    public static IModelCacheBuilder AddModel<TModel>(this IModelCacheBuilder builder, string name, Action<ModelBuilder<TModel>> configure)
        where TModel : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);

        IServiceCollection services = builder.Services;
        ModelRegistration? existing = FindRegistration(services, name);
        if (existing is null)
        {
            services.AddSingleton(new ModelRegistration(
                name,
                typeof(TModel),
                (sp, provider) => ModelCacheProvider.CreateCache<TModel>(name, sp, provider),
                sp => sp.GetRequiredService<IOptionsMonitor<ModelOptions<TModel>>>().Get(name).Policy,
                sp => ModelRegistration.OptionsProblems<TModel>(sp, name)));
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelOptions<TModel>>, ModelOptionsValidator<TModel>>());
            services.AddKeyedSingleton<IModelCache<TModel>>(name, static (sp, key) => sp.GetRequiredService<IModelCacheProvider>().GetCache<TModel>((string)key!));
            services.AddKeyedSingleton<IModelCache>(name, static (sp, key) => sp.GetRequiredService<IModelCacheProvider>().GetCache((string)key!));

            // A mistyped name in [FromKeyedServices("…")] reaches these instead of the container's generic
            // "no keyed service" error: the provider's KeyNotFoundException names the key and lists the models.
            AddUnknownNameFallback<IModelCache<TModel>>(services, static (sp, name) => sp.GetRequiredService<IModelCacheProvider>().GetCache<TModel>(name));
            AddUnknownNameFallback<IModelCache>(services, static (sp, name) => sp.GetRequiredService<IModelCacheProvider>().GetCache(name));

            // Configuration (if any) is applied after the code's settings, so it can override them. The options are
            // validated at start by ModelCacheStartupCheck, with every other problem of the configuration.
            services.AddOptions<ModelOptions<TModel>>(name)
                .PostConfigure<IServiceProvider>((options, sp) =>
                {
                    sp.GetService<ModelCacheConfiguration>()?.Bind(name, options);
                    ModelContentRoot.ResolveFilePath(options, sp);
                });
        }
        else if (existing.ModelType != typeof(TModel))
        {
            throw new InvalidOperationException($"Model '{name}' is already registered as {existing.ModelType.FullName}; it cannot also be {typeof(TModel).FullName}.");
        }

        configure(new ModelBuilder<TModel>(name, services));
        return builder;
    }

    /// <summary>
    /// Registers models whose names are known only once the application's services are built, for extensions that
    /// discover them from their own registrations (ModelCaching.ML's <c>AddPredictionEnginePool</c>). Each discovered
    /// name becomes a model like one added with <see cref="AddModel{TModel}"/>: in <see cref="IModelCacheProvider"/>,
    /// health checks, endpoints and metrics. Its options are set by <paramref name="configure"/>, then by configuration
    /// (<c>ModelCache:Models:{name}</c>), and validated at host start with every other problem of the configuration, or
    /// without a host when the provider creates the cache. <paramref name="configure"/> runs once per model and provider. A source
    /// that <paramref name="configure"/> sets is owned by the cache, which disposes it.
    /// </summary>
    /// <param name="builder">The model cache builder.</param>
    /// <param name="discoverNames">Returns the model names, given the application's services; it may be called more than once (the check at start, the provider), and must return the same names.</param>
    /// <param name="configure">Sets the options of one discovered model.</param>
    /// <returns>The same builder.</returns>
    public static IModelCacheBuilder AddModels<TModel>(this IModelCacheBuilder builder, Func<IServiceProvider, IEnumerable<string>> discoverNames, Action<string, ModelOptions<TModel>, IServiceProvider> configure)
        where TModel : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(discoverNames);
        ArgumentNullException.ThrowIfNull(configure);

        IServiceCollection services = builder.Services;
        ModelOptions<TModel> Make(string name, IServiceProvider sp)
        {
            var options = new ModelOptions<TModel>();
            configure(name, options, sp);
            options.OwnsSource = options.Source is not null;
            sp.GetService<ModelCacheConfiguration>()?.Bind(name, options);
            ModelContentRoot.ResolveFilePath(options, sp);
            foreach (IRuntimeModelOptions extension in sp.GetServices<IRuntimeModelOptions>())
            {
                extension.Configure(name, templateName: null, options, sp);
            }

            return options;
        }

        // The options are made once per provider: by the check at start, which reports their problems with every other
        // one, or else when the provider creates the cache (DeferredModelOptions).
        services.TryAddSingleton<DeferredModelOptions>();
        services.AddSingleton(new DeferredModelRegistration(
            typeof(TModel),
            discoverNames,
            (name, sp, provider) =>
            {
                ModelOptions<TModel> options = sp.GetRequiredService<DeferredModelOptions>().Get(name, sp, Make);
                string[] problems = [.. options.Validate(name)];
                if (problems.Length > 0)
                {
                    throw new OptionsValidationException(name, typeof(ModelOptions<TModel>), problems);
                }

                return new ModelCache<TModel>(name, options, provider.TimeProvider, provider.LoggerFactory, provider.Metrics, provider.LoadLimiter, provider.Budget);
            },
            (name, sp) => sp.GetRequiredService<DeferredModelOptions>().Problems(name, sp, Make)));
        AddUnknownNameFallback<IModelCache<TModel>>(services, static (sp, name) => sp.GetRequiredService<IModelCacheProvider>().GetCache<TModel>(name));
        AddUnknownNameFallback<IModelCache>(services, static (sp, name) => sp.GetRequiredService<IModelCacheProvider>().GetCache(name));
        return builder;
    }

    /// <summary>
    /// Registers a template for models that are made by name at run time, one per tenant, region or product: the
    /// first use of a name no model is registered under (<c>provider.GetCache&lt;TModel&gt;("tenant-42")</c>, a
    /// prediction pool's <c>Predict("tenant-42", input)</c>) makes its cache from the template, and later uses find it.
    /// <c>{name}</c> in the template's path or address stands for the name, which is checked first (<see cref="ModelNames"/>):
    /// <c>../../etc/passwd</c> never reaches a path. A name whose first load fails (its file does not exist) is not kept.
    /// </summary>
    /// <param name="builder">The model cache builder.</param>
    /// <param name="templateName">The template's name, for configuration (<c>ModelCache:Templates:{templateName}</c>), budgets and messages.</param>
    /// <param name="configure">Configures the models made from it, as for <c>AddModel</c>: <c>t =&gt; t.FromFile("models/{name}.zip").UseMLNet()</c>.</param>
    /// <param name="configureTemplate">Sets which names it serves and its memory budget; configuration can set them too.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException">A template of that name is already registered.</exception>
    public static IModelCacheBuilder AddModelTemplate<TModel>(this IModelCacheBuilder builder, string templateName, Action<ModelBuilder<TModel>> configure, Action<ModelTemplateOptions>? configureTemplate = null)
        where TModel : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(templateName);
        ArgumentNullException.ThrowIfNull(configure);

        IServiceCollection services = builder.Services;
        foreach (ServiceDescriptor descriptor in services)
        {
            if (descriptor.ServiceType == typeof(ModelTemplate) && descriptor.ImplementationInstance is ModelTemplate existing && existing.Name == templateName)
            {
                throw new InvalidOperationException($"A template named '{templateName}' is already registered.");
            }
        }

        var template = new ModelTemplate<TModel>(templateName);
        services.AddSingleton<ModelTemplate>(template);
        OptionsBuilder<ModelTemplateOptions> templateOptions = services.AddOptions<ModelTemplateOptions>(templateName);
        if (configureTemplate is not null)
        {
            templateOptions.Configure(configureTemplate);
        }

        templateOptions.PostConfigure<IServiceProvider>((options, sp) =>
        {
            if (sp.GetService<ModelCacheConfiguration>() is { } configuration)
            {
                configuration.ForTemplate(templateName).Bind(options);
            }
        });

        // Names made from the template resolve like registered ones: through the provider, and as keyed services.
        AddUnknownNameFallback<IModelCache<TModel>>(services, static (sp, name) => sp.GetRequiredService<IModelCacheProvider>().GetCache<TModel>(name));
        AddUnknownNameFallback<IModelCache>(services, static (sp, name) => sp.GetRequiredService<IModelCacheProvider>().GetCache(name));
        configure(new ModelBuilder<TModel>(templateName, services, template));
        return builder;
    }

    /// <summary>
    /// Registers <typeparamref name="TService"/> under <see cref="KeyedService.AnyKey"/> (once), which the container
    /// uses only for keys registered under no name of their own.
    /// </summary>
    internal static void AddUnknownNameFallback<TService>(IServiceCollection services, Func<IServiceProvider, string, TService> resolve)
        where TService : class
    {
        foreach (ServiceDescriptor descriptor in services)
        {
            if (descriptor.ServiceType == typeof(TService) && descriptor.IsKeyedService && Equals(descriptor.ServiceKey, KeyedService.AnyKey))
            {
                return;
            }
        }

        services.AddKeyedSingleton(KeyedService.AnyKey, (sp, key) => resolve(sp, key as string ?? key?.ToString() ?? string.Empty));
    }

    private static ModelRegistration? FindRegistration(IServiceCollection services, string name)
    {
        foreach (ServiceDescriptor descriptor in services)
        {
            if (descriptor.ServiceType == typeof(ModelRegistration) && !descriptor.IsKeyedService && descriptor.ImplementationInstance is ModelRegistration registration && registration.Name == name)
            {
                return registration;
            }
        }

        return null;
    }
}
