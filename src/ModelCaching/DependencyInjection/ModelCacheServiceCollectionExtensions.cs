using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelCaching;
using ModelCaching.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers ModelCaching in a service collection.</summary>
public static class ModelCacheServiceCollectionExtensions
{
    /// <summary>
    /// Registers the model cache's services; add models to the returned builder with <c>AddModel</c>.
    /// Calling it more than once is safe. In a generic host, add <c>AddHostedStartup()</c> (ModelCaching.Hosting) so the
    /// eager models load when the host starts.
    /// </summary>
    public static IModelCacheBuilder AddModelCache(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        services.AddOptions();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(ModelContentRoot.Of);
        // Logging is optional and never registered here: a NullLoggerFactory added with TryAdd would win over an
        // AddLogging() called after AddModelCache() (AddLogging uses TryAdd too) and silence every log of the app.
        services.TryAddSingleton(static sp => new ModelCacheMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton(static sp => ActivatorUtilities.CreateInstance<ModelCacheProvider>(sp, LoggerFactoryOf(sp)));
        services.TryAddSingleton<IModelCacheProvider>(static sp => sp.GetRequiredService<ModelCacheProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelCacheOptions>, ModelCacheOptionsValidator>());
        // One check at start for the shared options, the configuration's keys, every model and every template, so that
        // every problem is reported at once (ModelCacheStartupCheck).
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelCacheStartupCheck>, ModelCacheStartupCheckValidator>());
        services.AddOptions<ModelCacheStartupCheck>().ValidateOnStart();
        return new ModelCacheBuilder(services);
    }

    private static ILoggerFactory LoggerFactoryOf(IServiceProvider services) =>
        services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;

    /// <summary>Registers the model cache and changes its shared options.</summary>
    public static IModelCacheBuilder AddModelCache(this IServiceCollection services, Action<ModelCacheOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        IModelCacheBuilder builder = services.AddModelCache();
        services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Registers the model cache with settings from <paramref name="configuration"/> (a <c>ModelCache</c>
    /// section): shared options at its root, each model's options under <c>Models:{name}</c>. Configuration
    /// values override what code sets, so a deployed application can be tuned without a rebuild.
    /// </summary>
    public static IModelCacheBuilder AddModelCache(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        IModelCacheBuilder builder = services.AddModelCache();
        services.RemoveAll<ModelCacheConfiguration>();
        services.AddSingleton(new ModelCacheConfiguration(configuration));
        services.Configure<ModelCacheOptions>(configuration);
        return builder;
    }
}
