using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Redis.Instance;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>
/// One instance of a fleet in the test process: its own service provider (as a separate pod would have), one model
/// <see cref="ModelName"/> of text, loaded from a local file first; a validator rejects text that starts with "bad".
/// Its hosted services (the fleet agent) are started as a host would.
/// </summary>
public sealed class FleetHost : IAsyncDisposable
{
    public const string ModelName = "greeting";

    private readonly ServiceProvider _provider;
    private readonly IHostedService[] _hosted;
    private int _loads;
    private int _atGate;

    private FleetHost(ServiceProvider provider)
    {
        _provider = provider;
        _hosted = [.. provider.GetServices<IHostedService>()];
        Cache = provider.GetRequiredKeyedService<IModelCache<string>>(ModelName);
        Cache.Reloaded += (_, _) => Interlocked.Increment(ref _loads);
    }

    public IModelCache<string> Cache { get; }

    public IModelFleet Fleet => _provider.GetRequiredService<IModelFleet>();

    internal FleetAgent Agent => _provider.GetRequiredService<FleetAgent>();

    public IServiceProvider Services => _provider;

    /// <summary>What the instance logged.</summary>
    public Microsoft.Extensions.Logging.Testing.FakeLogCollector Logs => _provider.GetFakeLogCollector();

    /// <summary>How many generations started serving (first load, reloads).</summary>
    public int Loads => Volatile.Read(ref _loads);

    /// <summary>Set to block every load in the loader until it is set again (for bursts).</summary>
    public ManualResetEventSlim LoaderGate { get; } = new(initialState: true);

    /// <summary>How many loads are in the loader now, held or passing through <see cref="LoaderGate"/>.</summary>
    public int AtGate => Volatile.Read(ref _atGate);

    public static async Task<FleetHost> StartAsync(string configuration, string fleetName, string instanceId, TimeProvider time, string localFile, Action<RedisFleetOptions>? configure = null)
    {
        FleetHost? host = null;
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug).AddFakeLogging());
        services.AddSingleton(time);
        services.AddMetrics();
        services.AddModelCache()
            .AddModel<string>(ModelName, model => model
                .FromFile(localFile)
                .UseLoader((artifact, _) =>
                {
                    if (host is { } held)
                    {
                        Interlocked.Increment(ref held._atGate);
                        try
                        {
                            held.LoaderGate.Wait(Eventually.Timeout);
                        }
                        finally
                        {
                            Interlocked.Decrement(ref held._atGate);
                        }
                    }

                    return ValueTask.FromResult(Encoding.UTF8.GetString(artifact.Content.Span));
                })
                .Validate((text, _) => text.StartsWith("bad", StringComparison.Ordinal) ? throw new InvalidDataException($"the validator rejects '{text}'") : ValueTask.CompletedTask))
            .AddRedisFleet(o =>
            {
                o.Configuration = configuration;
                o.FleetName = fleetName;
                o.InstanceId = instanceId;
                o.LoadJitter = TimeSpan.Zero; // tests of the jitter set it
                configure?.Invoke(o);
            });
        services.AddHealthChecks().AddRedisFleet();
        host = new FleetHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }));
        foreach (IHostedService hosted in host._hosted)
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        await host.Cache.GetModelAsync();
        return host;
    }

    public string InstanceId => Agent.Settings.InstanceId;

    /// <summary>Makes the instance read every desired record (as a reconciliation tick does) and waits (bounded) until a round did.</summary>
    public Task ReconcileNowAsync()
    {
        long rounds = Agent.FullRounds;
        Agent.RequestReconcile();
        return Eventually.TrueAsync(() => Agent.FullRounds > rounds, $"{InstanceId} read every desired record");
    }

    /// <summary>Whether the instance ever tried (loaded or failed on) the content <paramref name="sha256"/>.</summary>
    public bool Tried(string sha256) => Cache.GetHistory().Any(r => string.Equals(r.VersionId, sha256, StringComparison.OrdinalIgnoreCase));

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
                Assert.Fail($"instance did not serve {versionId} within {Eventually.Timeout}; it serves {Cache.Version}");
            }
        }
    }

    public async Task<HealthStatus> FleetHealthAsync()
    {
        HealthReport report = await _provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return report.Entries["modelcache-fleet"].Status;
    }

    /// <summary>A process that only publishes (a CI job, the command-line tool): the fleet's services without models.</summary>
    public static ServiceProvider Publisher(string configuration, string fleetName, string? signingKey)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddModelCache().AddRedisFleet(o =>
        {
            o.Configuration = configuration;
            o.FleetName = fleetName;
            o.SigningKey = signingKey;
        });
        return services.BuildServiceProvider();
    }

    public async ValueTask DisposeAsync()
    {
        LoaderGate.Set();
        foreach (IHostedService hosted in _hosted.Reverse())
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        await _provider.DisposeAsync();
        LoaderGate.Dispose();
    }
}
