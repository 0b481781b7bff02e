using System.Globalization;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.FleetHarness;

/// <summary>What a <see cref="RoutedFleet"/> runs: the processes' builds, the tenants' models, and placement on or off.</summary>
/// <param name="SampleAssembly">The sample API's dll (samples/ModelCaching.Samples.WebApi's build output).</param>
/// <param name="RouterAssembly">The router's dll (samples/ModelCaching.Samples.Router's build output).</param>
/// <param name="TenantModelDirectory">Where the tenants' models are (<see cref="TenantModels.Write"/>).</param>
/// <param name="Placement">Whether the tenants template is placed (<c>ModelCache:Fleet:Placement:Templates:0=tenants</c>).</param>
/// <param name="Replicas">How many instances own each tenant when placed.</param>
/// <param name="TenantBudgetBytes">Each instance's budget for tenant models (<c>ModelCache:Templates:tenants:MemoryBudgetBytes</c>).</param>
public sealed record RoutedFleetOptions(
    string SampleAssembly,
    string RouterAssembly,
    string TenantModelDirectory,
    bool Placement,
    int Replicas,
    long TenantBudgetBytes)
{
    /// <summary>How often an instance renews its membership entry (the router's view of who is alive moves with it).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an entry outlives its last heartbeat: a killed instance leaves the membership this long after it died.</summary>
    public TimeSpan MemberTimeToLive { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How often the router reads the membership from Redis (ModelCacheRouting:RefreshInterval).</summary>
    public TimeSpan RouterRefreshInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether the processes write each log event on one line that starts with its UTC time (<see cref="LogTimestampFormat"/>),
    /// and the instances log placement's events (401 to 406) too, so that a kill's aftermath can be timed from them. The
    /// default is false.
    /// </summary>
    public bool TimedLogs { get; init; }

    /// <summary>The timestamp format of <see cref="TimedLogs"/>; the trailing space separates it from the level.</summary>
    public const string LogTimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";

    /// <summary>A bound for a loaded 2-core machine to start a process, not a wait.</summary>
    public TimeSpan StartBound { get; init; } = TimeSpan.FromSeconds(90);
}

/// <summary>
/// A fleet on loopback, all real processes: one redis-server, sample API instances (<c>i0</c>, <c>i1</c>, …) joined to one
/// Redis fleet and each with its own tenant budget, and the router in front of them. Everything is killed on dispose, also
/// when a start fails. The harness and the process tests use it.
/// </summary>
public sealed class RoutedFleet : IAsyncDisposable
{
    /// <summary>The admin key every instance accepts (the fleet endpoints need it).</summary>
    public const string AdminKey = "harness-admin-key-22";

    private readonly RoutedFleetOptions _options;
    private readonly List<ServiceProcess> _instances = [];
    private readonly string _modelStore = Directory.CreateTempSubdirectory("modelcaching-routed-fleet-").FullName;
    private RedisServer? _redis;
    private ServiceProcess? _router;
    private int _nextInstance;
    private int _probed = 500; // probes ask for the coldest half of the tenants, each once

    private RoutedFleet(RoutedFleetOptions options) => _options = options;

    public string FleetName { get; } = "routed-" + Guid.NewGuid().ToString("N")[..8];

    public RoutedFleetOptions Options => _options;

    public RedisServer Redis => _redis ?? throw new InvalidOperationException("the fleet has not started");

    /// <summary>The instances started so far (killed ones included, in start order).</summary>
    public IReadOnlyList<ServiceProcess> Instances => _instances;

    public ServiceProcess Router => _router ?? throw new InvalidOperationException("the fleet has not started");

    /// <summary>Starts redis-server, <paramref name="instances"/> instances and the router; waits (bounded) until all answer.</summary>
    public static async Task<RoutedFleet> StartAsync(RoutedFleetOptions options, int instances = 3)
    {
        var fleet = new RoutedFleet(options);
        try
        {
            fleet._redis = await RedisServer.StartAsync();
            ServiceProcess[] started = [.. Enumerable.Range(0, instances).Select(_ => fleet.StartInstance())];
            await Task.WhenAll(started.Select(i => i.WaitUntilReadyAsync("/health/ready", options.StartBound)));
            fleet._router = ServiceProcess.Start("router", options.RouterAssembly, ServiceProcess.FreePort(), fleet.RouterArguments());
            await fleet._router.WaitUntilReadyAsync("/router/health", options.StartBound);
            await fleet.UntilTheRouterKnowsEveryInstanceAsync();
            return fleet;
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one more instance (the next id) and waits (bounded) until it serves.</summary>
    public async Task<ServiceProcess> AddInstanceAsync()
    {
        ServiceProcess instance = StartInstance();
        await instance.WaitUntilReadyAsync("/health/ready", _options.StartBound);
        return instance;
    }

    /// <summary>
    /// Waits (bounded) until requests through the router reach every live instance: the router has read the membership.
    /// With placement, each probe asks for a tenant that instance owns first and that no probe asked for before (the
    /// router prefers an owner that has the model loaded, so a tenant asked for once may stay with another owner); the
    /// probes load a few tenant models before a trace starts. Without placement, any answer will do.
    /// </summary>
    public async Task UntilTheRouterKnowsEveryInstanceAsync()
    {
        foreach (ServiceProcess instance in _instances.Where(i => !i.HasExited))
        {
            using var cancel = new CancellationTokenSource(_options.StartBound);
            while (!await AnswersAsync(instance.Name))
            {
                if (cancel.IsCancellationRequested)
                {
                    throw new TimeoutException($"the router did not send a request to {instance.Name} within {_options.StartBound}:\n{Router.Output}");
                }

                await Task.Delay(100, CancellationToken.None);
            }
        }

        async Task<bool> AnswersAsync(string id)
        {
            int tenant = 0;
            if (_options.Placement)
            {
                IReadOnlyList<string> live = LiveInstanceIds();
                tenant = Enumerable.Range(_probed + 1, 1000 - _probed - 1)
                    .First(t => ModelCaching.Redis.FleetPlacement.Owners(TenantModels.ModelName(t), live, _options.Replicas)[0] == id);
                _probed = tenant;
            }

            using var body = new StringContent(TenantModels.KnownTrip, System.Text.Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await Router.Client.PostAsync($"/tenants/{TenantModels.Id(tenant)}/predict", body);
            return response.IsSuccessStatusCode
                && (!_options.Placement || (response.Headers.TryGetValues("X-ModelCaching-Instance", out IEnumerable<string>? by) && by.Contains(id)));
        }
    }

    /// <summary>The live instances' ids (the ones not killed).</summary>
    public IReadOnlyList<string> LiveInstanceIds() => [.. _instances.Where(i => !i.HasExited).Select(i => i.Name)];

    public async ValueTask DisposeAsync()
    {
        if (_router is not null)
        {
            await _router.DisposeAsync();
        }

        foreach (ServiceProcess instance in _instances)
        {
            await instance.DisposeAsync();
        }

        _instances.Clear();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
            _redis = null;
        }

        try
        {
            Directory.Delete(_modelStore, recursive: true);
        }
        catch (IOException)
        {
            // The temp folder is cleaned by the OS.
        }
    }

    private ServiceProcess StartInstance()
    {
        string id = "i" + _nextInstance++.ToString(CultureInfo.InvariantCulture);
        int port = ServiceProcess.FreePort();
        ServiceProcess instance = ServiceProcess.Start(id, _options.SampleAssembly, port, InstanceArguments(id, port));
        _instances.Add(instance);
        return instance;
    }

    private List<string> InstanceArguments(string id, int port)
    {
        string store = Path.Combine(_modelStore, id);
        Directory.CreateDirectory(store);
        var arguments = new List<string>
        {
            $"--ModelCache:Fleet:Configuration={Redis.Configuration}",
            $"--ModelCache:Fleet:FleetName={FleetName}",
            $"--ModelCache:Fleet:InstanceId={id}",
            $"--ModelCache:Fleet:Address=http://127.0.0.1:{port}",
            $"--ModelCache:Fleet:HeartbeatInterval={_options.HeartbeatInterval:c}",
            $"--ModelCache:Fleet:MemberTimeToLive={_options.MemberTimeToLive:c}",
            $"--ModelCache:Templates:tenants:MemoryBudgetBytes={_options.TenantBudgetBytes}",
            $"--Sample:TenantModelDirectory={_options.TenantModelDirectory}",
            $"--Sample:ModelDirectory={store}",
            $"--Admin:AdminKey={AdminKey}",
            "--Admin:AllowAnonymousStatus=true",
        };
        if (_options.Placement)
        {
            arguments.Add("--ModelCache:Fleet:Placement:Templates:0=tenants");
            arguments.Add($"--ModelCache:Fleet:Placement:Replicas={_options.Replicas}");
        }

        if (_options.TimedLogs)
        {
            // Placement's 401 to 406 (departures, warm-ups), and not every load and unload: the kept output is the last 64 KB.
            arguments.Add("--Logging:LogLevel:ModelCaching=Warning");
            arguments.Add("--Logging:LogLevel:ModelCaching.Redis.Placement=Information");
            arguments.AddRange(TimedLogArguments);
        }

        return arguments;
    }

    /// <summary>The logging configuration of <see cref="RoutedFleetOptions.TimedLogs"/>, as command-line arguments.</summary>
    internal static readonly string[] TimedLogArguments =
    [
        "--Logging:Console:FormatterOptions:SingleLine=true",
        "--Logging:Console:FormatterOptions:UseUtcTimestamp=true",
        $"--Logging:Console:FormatterOptions:TimestampFormat={RoutedFleetOptions.LogTimestampFormat}",
    ];

    // With placement: ModelCaching.Routing, which reads the instances from the fleet's membership in Redis (the route
    // points at its cluster, "modelcache"). Without: YARP's round-robin over the instances, listed in configuration.
    private List<string> RouterArguments()
    {
        var arguments = new List<string>();
        if (_options.Placement)
        {
            arguments.Add($"--ModelCacheRouting:Configuration={Redis.Configuration}");
            arguments.Add($"--ModelCacheRouting:FleetName={FleetName}");
            arguments.Add("--ModelCacheRouting:ModelNameFormat=tenant-{id}");
            arguments.Add($"--ModelCacheRouting:RefreshInterval={_options.RouterRefreshInterval:c}");
            arguments.Add("--ReverseProxy:Routes:tenants:ClusterId=modelcache");
            arguments.Add("--Logging:LogLevel:ModelCaching=Information"); // membership changes (event 500), for failure messages
            if (_options.TimedLogs)
            {
                arguments.AddRange(TimedLogArguments);
            }

            return arguments;
        }

        foreach (ServiceProcess instance in _instances)
        {
            arguments.Add($"--ReverseProxy:Clusters:instances:Destinations:{instance.Name}:Address={instance.Address}/");
        }

        return arguments;
    }
}
