using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Primitives;
using ModelCaching.Redis.Instance;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>
/// One instance (its own services, as a pod has) that places the models of the template <see cref="Template"/>
/// (<c>{directory}/{name}.txt</c>, text) over the fleet with <see cref="RedisFleetOptions.Placement"/>. Its loader counts
/// each load per name, and its source notes a fetch this instance's view did not let it own (which must never happen).
/// </summary>
public sealed class PlacedHost : IAsyncDisposable
{
    public const string Template = "tenants";

    private readonly ServiceProvider _provider;
    private readonly IHostedService[] _hosted;
    private readonly ConcurrentDictionary<string, int> _loads = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _loadsNotOwned = new();
    private int _disposed;
    private readonly ConcurrentDictionary<string, byte> _inLoader = new(StringComparer.Ordinal);
    private int _mostInLoader;

    private PlacedHost(ServiceProvider provider, string instanceId)
    {
        _provider = provider;
        InstanceId = instanceId;
        _hosted = [.. provider.GetServices<IHostedService>()];
    }

    public string InstanceId { get; }

    public string Address => $"http://{InstanceId}.test:8080";

    public IModelCacheProvider Provider => _provider.GetRequiredService<IModelCacheProvider>();

    public IModelFleet Fleet => _provider.GetRequiredService<IModelFleet>();

    public IServiceProvider Services => _provider;

    internal FleetAgent Agent => _provider.GetRequiredService<FleetAgent>();

    internal InstancePlacement Placement => _provider.GetRequiredService<InstancePlacement>();

    public FakeLogCollector Logs => _provider.GetFakeLogCollector();

    /// <summary>Fetches that started while this instance's view said another instance owns the name (must stay empty).</summary>
    public IReadOnlyCollection<string> LoadsNotOwned => _loadsNotOwned;

    public bool IsDisposed => Volatile.Read(ref _disposed) == 1;

    public int LoadsOf(string name) => _loads.GetValueOrDefault(name);

    public int TotalLoads => _loads.Values.Sum();

    /// <summary>Reset to hold every load in the loader until it is set again.</summary>
    public ManualResetEventSlim LoaderGate { get; } = new(initialState: true);

    /// <summary>How many loads are in the loader now (held at <see cref="LoaderGate"/> or passing through).</summary>
    public int InLoaderNow => _inLoader.Count;

    /// <summary>Whether a load of <paramref name="name"/> is in the loader now.</summary>
    public bool IsInLoader(string name) => _inLoader.ContainsKey(name);

    /// <summary>The most loads that were in the loader at once.</summary>
    public int MostInLoader => Volatile.Read(ref _mostInLoader);

    public static async Task<PlacedHost> StartAsync(string configuration, string fleetName, string instanceId, TimeProvider time, string directory, int replicas = 2, long? budgetBytes = null, Action<RedisFleetOptions>? configure = null, int? maxConcurrentLoads = null)
    {
        PlacedHost? host = null;
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug).AddFakeLogging());
        services.AddSingleton(time);
        services.AddMetrics();
        if (maxConcurrentLoads is { } slots)
        {
            services.Configure<ModelCacheOptions>(o => o.MaxConcurrentLoads = slots);
        }

        services.AddModelCache()
            .AddModelTemplate<string>(
                Template,
                t => t.FromSource((name, _) => new OwnershipAtFetch(new FileModelSource(Path.Combine(directory, $"{name}.txt")), () => host!, name)).UseLoader((artifact, _) =>
                {
                    string text = Encoding.UTF8.GetString(artifact.Content.Span);
                    string name = text.Split(' ')[0];
                    host!.EnterLoader(name);
                    try
                    {
                        host.LoaderGate.Wait(Eventually.Timeout);
                    }
                    finally
                    {
                        host._inLoader.TryRemove(name, out byte _);
                    }

                    host.Loaded(name);
                    return ValueTask.FromResult(text);
                }),
                template => template.MemoryBudgetBytes = budgetBytes)
            .AddRedisFleet(o =>
            {
                o.Configuration = configuration;
                o.FleetName = fleetName;
                o.InstanceId = instanceId;
                o.LoadJitter = TimeSpan.Zero;
                o.Address = $"http://{instanceId}.test:8080";
                o.Placement.Templates.Add(Template);
                o.Placement.Replicas = replicas;
                configure?.Invoke(o);
            });
        host = new PlacedHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }), instanceId);
        foreach (IHostedService hosted in host._hosted)
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        return host;
    }

    /// <summary>Writes the entry and reads the membership now (as a heartbeat does); waits (bounded) until the view is applied.</summary>
    public async Task RoundAsync()
    {
        long rounds = Placement.Rounds;
        Agent.RequestReport();
        await Eventually.TrueAsync(() => Placement.Rounds > rounds, $"{InstanceId} read the membership");
    }

    /// <summary>
    /// Stops the instance as a killed process stops: its loop and timers end and its connection to Redis closes, without
    /// the graceful removal of its membership entry or any announcement; the entry stays until it expires. Requests to it
    /// are not expected afterwards; <see cref="DisposeAsync"/> still releases its services.
    /// </summary>
    public async Task KillAsync()
    {
        Agent.Dispose(); // the synchronous dispose stops the loop and leaves the entry to its time-to-live
        StackExchange.Redis.IConnectionMultiplexer connection = await _provider.GetRequiredService<ModelCaching.Redis.Records.FleetConnection>().GetAsync(CancellationToken.None);
        await connection.CloseAsync(allowCommandsToComplete: false); // nothing it had under way reaches Redis after this
    }

    /// <summary>This instance's membership entry key.</summary>
    internal StackExchange.Redis.RedisKey MemberKey => _provider.GetRequiredService<FleetSettings>().Keys.Member(InstanceId);

    /// <summary>Whether the instance serves <paramref name="name"/> now.</summary>
    public bool IsServing(string name) =>
        Provider.TryGetCache(name, out IModelCache? cache) && cache.Version is not null && cache.State is ModelCacheState.Ready or ModelCacheState.Degraded;

    public Task<string> GetAsync(string name) => Provider.GetCache<string>(name).GetModelAsync().AsTask();

    public ValueTask DisposeAsync() => StopAsync(releaseHeldLoads: true);

    /// <summary>
    /// Stops the host and disposes its services as <see cref="DisposeAsync"/> does, but with
    /// <paramref name="releaseHeldLoads"/> false the loads held at <see cref="LoaderGate"/> stay held throughout: the
    /// disposal cuts them short (set the gate afterwards to let their threads end).
    /// </summary>
    public async ValueTask StopAsync(bool releaseHeldLoads)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (releaseHeldLoads)
        {
            LoaderGate.Set(); // a held load must not hold the disposal
        }

        foreach (IHostedService hosted in _hosted.Reverse())
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        await _provider.DisposeAsync();
    }

    private void Loaded(string name) => _loads.AddOrUpdate(name, 1, static (_, n) => n + 1);

    private void EnterLoader(string name)
    {
        _inLoader.TryAdd(name, 0);
        int now = _inLoader.Count;
        for (int most = Volatile.Read(ref _mostInLoader); now > most; most = Volatile.Read(ref _mostInLoader))
        {
            Interlocked.CompareExchange(ref _mostInLoader, now, most);
        }
    }

    // Checked when the fetch starts, not in the loader: ownership may move while a load already under way reads and
    // loads (it finishes; the handoff then drops it), and a check in the loader saw such a move as a load without
    // ownership (once in the full test runs of the last stop). The fleet's source refuses a name this instance does not
    // own before it reads the fleet's record for the name in Redis and then calls this source, so a move during that
    // one read can still be flagged here: a smaller window than the whole load, not none.
    private void Fetching(string name)
    {
        if (Placement.View is { } view && !view.Owns(name))
        {
            _loadsNotOwned.Enqueue(name);
        }
    }

    /// <summary>The template's own source, which the fleet's source wraps: notes each fetch with <see cref="Fetching"/>.</summary>
    private sealed class OwnershipAtFetch(IModelSource inner, Func<PlacedHost> host, string name) : IModelSource, IDisposable
    {
        public string Description => inner.Description;

        public ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
        {
            host().Fetching(name);
            return inner.FetchAsync(context, cancellationToken);
        }

        public IChangeToken? GetChangeToken() => inner.GetChangeToken();

        public void Dispose() => (inner as IDisposable)?.Dispose();
    }
}
