using ModelCaching.Redis;

namespace ModelCaching.Routing.Tests.Support;

/// <summary>
/// A fleet of <see cref="Backend"/>s on the real redis-server, with a fleet name of its own, the tenants' model files
/// (<c>tenant-{id}.txt</c> holding "model of tenant-{id}") and a <see cref="Router"/> in front of it.
/// </summary>
public sealed class RoutedFleet : IAsyncDisposable
{
    private readonly TempDirectory _models = new();
    private readonly RedisServer _redis;
    private readonly List<Backend> _backends = [];

    private RoutedFleet(RedisServer redis, string fleetName)
    {
        _redis = redis;
        FleetName = fleetName;
    }

    public string FleetName { get; }

    public Router Router { get; private set; } = null!;

    public IReadOnlyList<Backend> Backends => _backends;

    public Backend this[string instanceId] => _backends.Single(b => b.InstanceId == instanceId);

    public static Task<RoutedFleet> StartAsync(RedisServer redis, int tenants, params string[] instances) => StartAsync(redis, tenants, instances, configure: null);

    public static async Task<RoutedFleet> StartAsync(RedisServer redis, int tenants, string[] instances, Action<ModelCacheRoutingOptions>? configure)
    {
        var fleet = new RoutedFleet(redis, "routing-" + Guid.NewGuid().ToString("N")[..12]);
        for (int i = 0; i < tenants; i++)
        {
            File.WriteAllText(fleet._models.File($"tenant-{Tenant(i)}.txt"), $"model of tenant-{Tenant(i)}");
        }

        foreach (string instance in instances)
        {
            await fleet.AddBackendAsync(instance);
        }

        fleet.Router = await Router.StartAsync(redis.Configuration, fleet.FleetName, configure);
        await fleet.Router.WaitForDestinationsAsync(instances);
        return fleet;
    }

    public static string Tenant(int i) => $"t{i:D4}";

    public async Task<Backend> AddBackendAsync(string instanceId, bool places = true)
    {
        Backend backend = await Backend.StartAsync(_redis.Configuration, FleetName, instanceId, _models.Path, places: places);
        _backends.Add(backend);
        return backend;
    }

    /// <summary>The owners of the tenant's model among <paramref name="instances"/> (default: every backend), best first.</summary>
    public IReadOnlyList<string> Owners(string tenant, IEnumerable<string>? instances = null) =>
        FleetPlacement.Owners("tenant-" + tenant, instances ?? _backends.Select(b => b.InstanceId), 2);

    /// <summary>A tenant whose first owner is <paramref name="first"/> (and second <paramref name="second"/>, when given).</summary>
    public string TenantOwnedBy(string first, string? second = null, int tenants = 200)
    {
        for (int i = 0; i < tenants; i++)
        {
            IReadOnlyList<string> owners = Owners(Tenant(i));
            if (owners[0] == first && (second is null || owners[1] == second))
            {
                return Tenant(i);
            }
        }

        throw new InvalidOperationException($"no tenant of {tenants} has the owners {first}, {second}");
    }

    public async ValueTask DisposeAsync()
    {
        if (Router is not null)
        {
            await Router.DisposeAsync();
        }

        foreach (Backend backend in _backends)
        {
            await backend.DisposeAsync();
        }

        _models.Dispose();
    }
}
