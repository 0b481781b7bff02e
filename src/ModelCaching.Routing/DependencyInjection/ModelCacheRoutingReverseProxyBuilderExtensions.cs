using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelCaching.Routing;
using ModelCaching.Routing.Diagnostics;
using ModelCaching.Routing.Membership;
using ModelCaching.Routing.Proxy;
using Yarp.ReverseProxy.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Makes YARP route requests for a model to the instances of a ModelCaching fleet that own it.</summary>
public static class ModelCacheRoutingReverseProxyBuilderExtensions
{
    /// <summary>
    /// Adds the cluster <see cref="ModelCacheRoutingOptions.ClusterId"/> (default <c>modelcache</c>), whose destinations are
    /// the fleet's live instances with an address, read from Redis every <see cref="ModelCacheRoutingOptions.RefreshInterval"/>.
    /// Point routes at it (in <c>LoadFromConfig</c>'s appsettings, say, with the path <c>/tenants/{id}/{**rest}</c>) and
    /// add <c>UseModelCacheRouting()</c> to the proxy pipeline (<c>app.MapReverseProxy(p =&gt; p.UseModelCacheRouting())</c>)
    /// so that each request goes to an owner of its model.
    /// </summary>
    /// <param name="builder">YARP's builder (<c>services.AddReverseProxy()</c>).</param>
    /// <param name="configure">Sets where the fleet's Redis is and its name (<c>o =&gt; { o.Configuration = "localhost:6379"; o.FleetName = "prod"; }</c>).</param>
    /// <returns>The same builder.</returns>
    public static IReverseProxyBuilder AddModelCacheRouting(this IReverseProxyBuilder builder, Action<ModelCacheRoutingOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<ModelCacheRoutingOptions>().Configure(configure);
        return AddModelCacheRoutingCore(builder);
    }

    /// <summary>
    /// Like <see cref="AddModelCacheRouting(IReverseProxyBuilder, Action{ModelCacheRoutingOptions})"/>, with the options
    /// bound from <paramref name="configuration"/> (a section such as <c>ModelCacheRouting</c>: <c>Configuration</c>,
    /// <c>FleetName</c>, <c>ModelNameFormat</c>, …), then <paramref name="configure"/>.
    /// </summary>
    public static IReverseProxyBuilder AddModelCacheRouting(this IReverseProxyBuilder builder, IConfiguration configuration, Action<ModelCacheRoutingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        OptionsBuilder<ModelCacheRoutingOptions> options = builder.Services.AddOptions<ModelCacheRoutingOptions>().Bind(configuration);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddModelCacheRoutingCore(builder);
    }

    private static IReverseProxyBuilder AddModelCacheRoutingCore(IReverseProxyBuilder builder)
    {
        IServiceCollection services = builder.Services;
        services.AddOptions<ModelCacheRoutingOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelCacheRoutingOptions>, ModelCacheRoutingOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static sp => new RoutingSettings(sp.GetRequiredService<IOptions<ModelCacheRoutingOptions>>().Value));
        services.TryAddSingleton(static sp => new RoutingMembership(
            sp.GetRequiredService<RoutingSettings>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<RoutingMembership>>() ?? NullLogger<RoutingMembership>.Instance));
        services.TryAddSingleton(static sp => new RoutingMetrics(
            sp.GetRequiredService<RoutingSettings>(),
            sp.GetRequiredService<RoutingMembership>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RoutingMembershipService>(static sp => new RoutingMembershipService(sp.GetRequiredService<RoutingMembership>())));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProxyConfigProvider, ModelCacheProxyConfigProvider>(static sp => new ModelCacheProxyConfigProvider(
            sp.GetRequiredService<RoutingSettings>(),
            sp.GetRequiredService<RoutingMembership>())));
        builder.AddTransforms<MisdirectedTransformProvider>();
        return builder;
    }
}
