using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelCaching.Fleet;

namespace ModelCaching.Azure.Tests.Fleet;

/// <summary>
/// One instance of a fleet whose versions may live in Azure blobs: its own service provider (as a separate pod would
/// have), one text model <see cref="ModelName"/> loaded from a local file first, the Redis fleet and the blob locations
/// (Azurite, by connection string). Its hosted services (the fleet agent) are started as a host would.
/// </summary>
internal sealed class BlobFleetHost : IAsyncDisposable
{
    public const string ModelName = "greeting";
    public const string LocalText = "hello from the local file";

    private readonly ServiceProvider _provider;
    private readonly IHostedService[] _hosted;

    private BlobFleetHost(ServiceProvider provider)
    {
        _provider = provider;
        _hosted = [.. provider.GetServices<IHostedService>()];
        Cache = provider.GetRequiredKeyedService<IModelCache<string>>(ModelName);
    }

    public IModelCache<string> Cache { get; }

    public static async Task<BlobFleetHost> StartAsync(string redis, string fleetName, string instanceId, string azurite, string localFile)
    {
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModel<string>(ModelName, model => model
                .FromFile(localFile)
                .UseLoader((artifact, _) => ValueTask.FromResult(Encoding.UTF8.GetString(artifact.Content.Span))))
            .AddRedisFleet(o =>
            {
                o.Configuration = Patient(redis);
                o.FleetName = fleetName;
                o.InstanceId = instanceId;
                o.LoadJitter = TimeSpan.Zero;
            });
        services.AddAzureBlobFleetLocations(o => o.ConnectionString = azurite);
        var host = new BlobFleetHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }));
        foreach (IHostedService hosted in host._hosted)
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        await host.Cache.GetModelAsync();
        return host;
    }

    /// <summary>
    /// The fixture's connection string with 15 s command timeouts instead of its 2 s (kept short there for the tests that
    /// kill Redis): these tests kill nothing, and in CI's full parallel run on 2 cores a 2 s UNWATCH timed out.
    /// </summary>
    public static string Patient(string redis) =>
        redis.Replace("syncTimeout=2000,asyncTimeout=2000", "syncTimeout=15000,asyncTimeout=15000", StringComparison.Ordinal);

    /// <summary>A process that only publishes (a CI job, the command-line tool): the fleet's services without models, with or without the blob locations.</summary>
    public static ServiceProvider Publisher(string redis, string fleetName, string? azurite)
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddRedisFleet(o =>
        {
            o.Configuration = Patient(redis);
            o.FleetName = fleetName;
        });
        if (azurite is not null)
        {
            services.AddAzureBlobFleetLocations(o => o.ConnectionString = azurite);
        }

        return services.BuildServiceProvider();
    }

    /// <summary>Waits (bounded) until the model serves the fleet version <paramref name="versionId"/>, woken by each reload.</summary>
    public async Task WaitForVersionAsync(string versionId)
    {
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        while (Cache.Version?.ETag != versionId)
        {
            Task<ModelReloadedEventArgs> next = Eventually.NextReload(Cache);
            if (Cache.Version?.ETag == versionId)
            {
                break;
            }

            try
            {
                await next.WaitAsync(bound.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"the instance did not serve {versionId} within {Eventually.Timeout}; it serves {Cache.Version}; history: {string.Join(" | ", Cache.GetHistory().Select(r => $"{r.Outcome} {r.Error}"))}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IHostedService hosted in _hosted)
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        await _provider.DisposeAsync();
    }
}
