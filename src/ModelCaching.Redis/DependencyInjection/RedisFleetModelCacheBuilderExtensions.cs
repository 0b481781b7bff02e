using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelCaching;
using ModelCaching.Redis;
using ModelCaching.Redis.Instance;
using ModelCaching.Redis.Records;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Makes the models of a model cache one fleet through Redis.</summary>
public static class RedisFleetModelCacheBuilderExtensions
{
    /// <summary>
    /// Makes the models registered so far with <c>AddModel</c>, the models made from templates (<c>AddModelTemplate</c>)
    /// and those <c>AddModels</c> discovers (or those named in <see cref="RedisFleetOptions.Models"/>) follow the fleet's
    /// desired versions in Redis: each instance loads exactly the published version through its usual pipeline, reports
    /// what it serves, and registers <see cref="IModelFleet"/> to publish, roll back and pin. Call it after the models'
    /// <c>AddModel</c>. A model's own source (<c>FromFile</c>, say) serves until a version is published. The fleet starts
    /// with the host (or with the first load) and never waits for Redis.
    /// </summary>
    /// <param name="builder">The model cache builder.</param>
    /// <param name="configure">Sets where Redis is and the fleet's name (<c>o =&gt; { o.Configuration = "localhost:6379"; o.FleetName = "prod"; }</c>).</param>
    /// <returns>The same builder.</returns>
    public static IModelCacheBuilder AddRedisFleet(this IModelCacheBuilder builder, Action<RedisFleetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<RedisFleetOptions>().Configure(configure);
        return AddRedisFleetCore(builder);
    }

    /// <summary>
    /// Like <see cref="AddRedisFleet(IModelCacheBuilder, Action{RedisFleetOptions})"/>, with the options bound from
    /// <paramref name="configuration"/> (a section such as <c>ModelCache:Fleet</c>: <c>Configuration</c>, <c>FleetName</c>,
    /// <c>SigningKey</c>, <c>Models</c>, …), then <paramref name="configure"/>.
    /// </summary>
    public static IModelCacheBuilder AddRedisFleet(this IModelCacheBuilder builder, IConfiguration configuration, Action<RedisFleetOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        OptionsBuilder<RedisFleetOptions> options = builder.Services.AddOptions<RedisFleetOptions>().Bind(configuration);
        builder.DeclareConfigurationSection<RedisFleetOptions>(configuration); // under ModelCache, its keys are checked at start
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddRedisFleetCore(builder);
    }

    private static IModelCacheBuilder AddRedisFleetCore(IModelCacheBuilder builder)
    {
        IServiceCollection services = builder.Services;
        services.AddOptions<RedisFleetOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisFleetOptions>, RedisFleetOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static sp => new FleetSettings(sp.GetRequiredService<IOptions<RedisFleetOptions>>().Value));
        services.TryAddSingleton(static sp => new FleetConnection(sp.GetRequiredService<FleetSettings>()));
        services.TryAddSingleton(static sp => new FleetStore(sp.GetRequiredService<FleetSettings>(), sp.GetRequiredService<FleetConnection>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(static sp => new ContentLocation(sp.GetServices<IFleetContentLocationReader>()));
        services.TryAddSingleton(static sp => new FleetContentReader(sp.GetRequiredService<FleetStore>(), sp.GetRequiredService<ContentLocation>()));
        services.TryAddSingleton(static sp => new InstancePlacement(
            sp.GetRequiredService<FleetSettings>(),
            sp,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger("ModelCaching.Redis.Placement") ?? NullLogger.Instance));
        services.TryAddSingleton(static sp => new FleetAgent(
            sp.GetRequiredService<FleetSettings>(),
            sp.GetRequiredService<FleetConnection>(),
            sp.GetRequiredService<FleetStore>(),
            sp,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<FleetAgent>>() ?? NullLogger<FleetAgent>.Instance));
        services.TryAddSingleton<IModelFleet>(static sp => new ModelFleet(
            sp.GetRequiredService<FleetStore>(),
            sp.GetRequiredService<ContentLocation>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<ModelFleet>>() ?? NullLogger<ModelFleet>.Instance));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, FleetHostedService>(static sp => new FleetHostedService(sp.GetRequiredService<FleetAgent>())));

        // Models made from templates and those AddModels discovers join when the provider makes them, whenever they were registered.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRuntimeModelOptions, FleetRuntimeModels>());

        foreach (ServiceDescriptor descriptor in services.ToArray())
        {
            if (descriptor.ServiceType == typeof(ModelRegistration) && !descriptor.IsKeyedService && descriptor.ImplementationInstance is ModelRegistration registration)
            {
                s_joinFleet.MakeGenericMethod(registration.ModelType).Invoke(null, [services, registration.Name]);
            }
        }

        return builder;
    }

    // The model type is known only from the registration; the options are typed per model, hence one generic call each.
    private static readonly MethodInfo s_joinFleet = typeof(RedisFleetModelCacheBuilderExtensions).GetMethod(nameof(JoinFleet), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Wraps the model's source (after its code and configuration set it) in a fleet source.</summary>
    private static void JoinFleet<TModel>(IServiceCollection services, string name)
        where TModel : class
    {
        services.AddOptions<ModelOptions<TModel>>(name).PostConfigure<IServiceProvider>((options, sp) =>
            FleetRuntimeModels.Wrap(name, sp.GetRequiredService<FleetSettings>().Covers(name), options, sp));
    }
}
