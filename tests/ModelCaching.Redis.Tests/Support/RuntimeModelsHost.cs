using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelCaching.Redis.Instance;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>
/// One instance (its own services, as a pod has) whose models are known only at run time: the template
/// <see cref="Template"/> makes a text model per name from <c>{directory}/{name}.txt</c>, and <c>AddModels</c> discovers
/// <see cref="Discovered"/> (read from <c>{directory}/discovered.txt</c>). No model exists until something uses it.
/// </summary>
public sealed class RuntimeModelsHost : IAsyncDisposable
{
    public const string Template = "tenants";
    public const string Discovered = "discovered";

    private readonly ServiceProvider _provider;
    private readonly IHostedService[] _hosted;

    private RuntimeModelsHost(ServiceProvider provider)
    {
        _provider = provider;
        _hosted = [.. provider.GetServices<IHostedService>()];
    }

    public IModelCacheProvider Provider => _provider.GetRequiredService<IModelCacheProvider>();

    public IModelFleet Fleet => _provider.GetRequiredService<IModelFleet>();

    internal FleetAgent Agent => _provider.GetRequiredService<FleetAgent>();

    public string InstanceId => Agent.Settings.InstanceId;

    /// <summary>The names of the models that joined the fleet on this instance.</summary>
    public IReadOnlyList<string> FleetModels => [.. Agent.Models.Select(m => m.Name).Order(StringComparer.Ordinal)];

    public static async Task<RuntimeModelsHost> StartAsync(string configuration, string fleetName, string instanceId, TimeProvider time, string directory, Action<RedisFleetOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug).AddFakeLogging());
        services.AddSingleton(time);
        services.AddMetrics();
        services.AddModelCache()
            .AddRedisFleet(o =>
            {
                o.Configuration = configuration;
                o.FleetName = fleetName;
                o.InstanceId = instanceId;
                o.LoadJitter = TimeSpan.Zero;
                configure?.Invoke(o);
            })

            // Registered after AddRedisFleet on purpose: models known at run time join whenever they were registered.
            .AddModelTemplate<string>(Template, t => t.FromFile(Path.Combine(directory, "{name}.txt")).UseLoader(new TextLoader()))
            .AddModels<string>(_ => [Discovered], (name, options, _) =>
            {
                options.Source = new FileModelSource(Path.Combine(directory, name + ".txt"));
                options.Loader = new TextLoader();
            });
        var host = new RuntimeModelsHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }));
        foreach (IHostedService hosted in host._hosted)
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        return host;
    }

    /// <summary>Makes the instance read every desired record (as a reconciliation tick does) and waits (bounded) until a round did.</summary>
    public Task ReconcileNowAsync()
    {
        long rounds = Agent.FullRounds;
        Agent.RequestReconcile();
        return Eventually.TrueAsync(() => Agent.FullRounds > rounds, $"{InstanceId} read every desired record");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IHostedService hosted in _hosted.Reverse())
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        await _provider.DisposeAsync();
    }

    private sealed class TextLoader : IModelLoader<string>
    {
        public ValueTask<string> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken) => ValueTask.FromResult(Encoding.UTF8.GetString(artifact.Content.Span));
    }
}
