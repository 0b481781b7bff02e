using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ModelCaching.Benchmarks.Policies;

/// <summary>
/// One model registered the way an application registers it (<c>AddModelCache().AddModel(...)</c> with a policy)
/// and started the way a host starts it (every <see cref="IHostedService"/>), so that "eager" really is the
/// start-up service loading the model and not a call the benchmark makes itself.
/// </summary>
/// <typeparam name="TModel">The model type.</typeparam>
internal sealed class PolicyHost<TModel> : IAsyncDisposable
    where TModel : class
{
    /// <summary>The time-to-live the expiring policy uses unless told otherwise.</summary>
    public static readonly TimeSpan DefaultTimeToLive = TimeSpan.FromMinutes(10);

    /// <summary>The idle timeout the expiring policy uses unless told otherwise.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(5);

    private readonly ServiceProvider _services;
    private readonly IHostedService[] _hostedServices;

    private PolicyHost(ServiceProvider services, IModelCache<TModel> cache)
    {
        _services = services;
        _hostedServices = [.. services.GetServices<IHostedService>()];
        Cache = cache;
    }

    /// <summary>The cache, resolved as an application resolves it (keyed service).</summary>
    public IModelCache<TModel> Cache { get; }

    /// <summary>
    /// Registers the model <paramref name="name"/> under <paramref name="policy"/> and builds the service
    /// provider; the host is not started yet.
    /// </summary>
    /// <param name="policy">The policy to register.</param>
    /// <param name="name">The model's name.</param>
    /// <param name="source">Sets the model's source and loader.</param>
    /// <param name="timeProvider">The clock the cache's timers use; the system clock when <see langword="null"/>.</param>
    /// <param name="timeToLive">For <see cref="CachePolicy.Expiring"/>: the time-to-live.</param>
    /// <param name="idleTimeout">For <see cref="CachePolicy.Expiring"/>: the idle timeout.</param>
    /// <param name="refreshAheadRatio">For <see cref="CachePolicy.Expiring"/>: when the background refresh starts.</param>
    /// <param name="configure">Further settings (a drain delay, say), applied after the policy's.</param>
    public static PolicyHost<TModel> Create(
        CachePolicy policy,
        string name,
        Action<ModelBuilder<TModel>> source,
        TimeProvider? timeProvider = null,
        TimeSpan? timeToLive = null,
        TimeSpan? idleTimeout = null,
        double refreshAheadRatio = 0.8,
        Action<ModelOptions<TModel>>? configure = null)
    {
        var services = new ServiceCollection();
        if (timeProvider is not null)
        {
            // AddModelCache uses TryAdd, so a clock registered first wins.
            services.AddSingleton(timeProvider);
        }

        services.AddModelCache().AddHostedStartup().AddModel<TModel>(name, model =>
        {
            source(model);
            switch (policy)
            {
                case CachePolicy.Lazy:
                    model.Lazy();
                    break;
                case CachePolicy.Eager:
                    model.Eager(waitForStartup: true);
                    break;
                case CachePolicy.Expiring:
                    model.Lazy()
                        .Expiring(timeToLive ?? DefaultTimeToLive, idleTimeout ?? DefaultIdleTimeout)
                        .Configure(options => options.RefreshAheadRatio = refreshAheadRatio);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(policy), policy, "Unknown policy.");
            }

            if (configure is not null)
            {
                model.Configure(configure);
            }
        });

        ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        return new PolicyHost<TModel>(provider, provider.GetRequiredKeyedService<IModelCache<TModel>>(name));
    }

    /// <summary>Registers, builds and starts a host; see <see cref="Create"/>.</summary>
    public static async Task<PolicyHost<TModel>> StartAsync(
        CachePolicy policy,
        string name,
        Action<ModelBuilder<TModel>> source,
        TimeProvider? timeProvider = null,
        TimeSpan? timeToLive = null,
        TimeSpan? idleTimeout = null,
        double refreshAheadRatio = 0.8,
        Action<ModelOptions<TModel>>? configure = null)
    {
        PolicyHost<TModel> host = Create(policy, name, source, timeProvider, timeToLive, idleTimeout, refreshAheadRatio, configure);
        await host.StartAsync().ConfigureAwait(false);
        return host;
    }

    /// <summary>Starts the hosted services, as <c>IHost.StartAsync</c> does: eager models load here.</summary>
    public async Task StartAsync()
    {
        foreach (IHostedService service in _hostedServices)
        {
            await service.StartAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the hosted services and disposes the container (and so every cache).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (IHostedService service in _hostedServices)
        {
            await service.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        await _services.DisposeAsync().ConfigureAwait(false);
    }
}
