using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>
/// Instances of one fleet that place the template <see cref="PlacedHost.Template"/>, on one fake clock, with a directory
/// holding <c>tenant-0</c> … <c>tenant-{n-1}</c> (each file's text is "<c>{name} v1</c>").
/// </summary>
public sealed class PlacedFleet : IAsyncDisposable
{
    private readonly TempDirectory _directory;
    private readonly RedisServer _server;
    private readonly int _replicas;
    private readonly long? _budgetBytes;
    private int? _maxConcurrentLoads;
    private int _next;
    private StackExchange.Redis.IConnectionMultiplexer? _redis;

    private PlacedFleet(RedisServer server, TempDirectory directory, string fleetName, int replicas, long? budgetBytes)
    {
        _server = server;
        _directory = directory;
        FleetName = fleetName;
        _replicas = replicas;
        _budgetBytes = budgetBytes;
    }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public string FleetName { get; }

    public string Directory => _directory.Path;

    public List<PlacedHost> Hosts { get; } = [];

    public PlacedHost this[int index] => Hosts[index];

    public IReadOnlyList<string> Ids => [.. Hosts.Select(h => h.InstanceId)];

    public static async Task<PlacedFleet> StartAsync(RedisServer server, int instances = 3, int names = 40, int replicas = 2, long? budgetBytes = null, int? maxConcurrentLoads = null)
    {
        var directory = new TempDirectory();
        for (int i = 0; i < names; i++)
        {
            await File.WriteAllTextAsync(System.IO.Path.Combine(directory.Path, Name(i) + ".txt"), Name(i) + " v1");
        }

        var fleet = new PlacedFleet(server, directory, "placed-" + Guid.NewGuid().ToString("N")[..12], replicas, budgetBytes) { _maxConcurrentLoads = maxConcurrentLoads };
        for (int i = 0; i < instances; i++)
        {
            await fleet.JoinAsync();
        }

        await fleet.SettleAsync();
        return fleet;
    }

    public static string Name(int i) => $"tenant-{i}";

    /// <summary>Starts one more instance, connected to Redis directly or through <paramref name="configuration"/> (a <see cref="RedisGate"/>'s).</summary>
    public async Task<PlacedHost> JoinAsync(string? configuration = null)
    {
        PlacedHost host = await PlacedHost.StartAsync(configuration ?? _server.Configuration, FleetName, $"instance-{_next++}", Time, Directory, _replicas, _budgetBytes, maxConcurrentLoads: _maxConcurrentLoads);
        Hosts.Add(host);
        return host;
    }

    /// <summary>Stops an instance as a host shuts down (it leaves the membership and says so).</summary>
    public async Task LeaveAsync(PlacedHost host)
    {
        Hosts.Remove(host);
        await host.DisposeAsync();
    }

    /// <summary>Instances killed with <see cref="KillAsync"/> (disposed with the fleet).</summary>
    public List<PlacedHost> Dead { get; } = [];

    /// <summary>Kills an instance (no graceful leave: its entry stays until it expires, see <see cref="PlacedHost.KillAsync"/>).</summary>
    public async Task KillAsync(PlacedHost host)
    {
        Hosts.Remove(host);
        Dead.Add(host);
        await host.KillAsync();
    }

    /// <summary>
    /// Makes Redis drop a dead instance's entry as its <c>MemberTimeToLive</c> would (the id stays in the members' set, as
    /// after an expiry), at once or after <paramref name="after"/>; waits (bounded) until the entry is gone.
    /// </summary>
    public async Task ExpireAsync(PlacedHost dead, TimeSpan? after = null)
    {
        StackExchange.Redis.IDatabase db = (_redis ??= await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_server.Configuration)).GetDatabase();
        if (after is { } delay)
        {
            await db.KeyExpireAsync(dead.MemberKey, delay);
        }
        else
        {
            await db.KeyDeleteAsync(dead.MemberKey);
        }

        await Eventually.TrueAsync(async () => !await db.KeyExistsAsync(dead.MemberKey), $"{dead.InstanceId}'s entry expired");
    }

    /// <summary>Drops every instance's entry and the members' set, as a Redis restarted without persistence has none.</summary>
    public async Task ForgetMembersAsync()
    {
        StackExchange.Redis.IDatabase db = (_redis ??= await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_server.Configuration)).GetDatabase();
        ModelCaching.Redis.Records.FleetKeys keys = Hosts[0].Services.GetRequiredService<FleetSettings>().Keys;
        await db.KeyDeleteAsync([keys.Members, .. Hosts.Concat(Dead).Select(h => h.MemberKey)]);
    }

    /// <summary>The owners of <paramref name="name"/> over the live instances, as every instance and router computes them.</summary>
    public IReadOnlyList<string> Owners(string name) => FleetPlacement.Owners(name, Ids, _replicas);

    public PlacedHost Host(string id) => Hosts.Single(h => h.InstanceId == id);

    /// <summary>
    /// Every instance writes its entry and reads the membership, twice (so each sees the others' newest entries), then
    /// waits (bounded) for the loads the handoff started.
    /// </summary>
    public async Task SettleAsync()
    {
        for (int round = 0; round < 2; round++)
        {
            foreach (PlacedHost host in Hosts)
            {
                await host.RoundAsync();
            }
        }

        await Eventually.TrueAsync(() => Hosts.All(h => h.Placement.Warming == 0), "the handoff's loads ended");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (PlacedHost host in Hosts.Concat(Dead))
        {
            await host.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _directory.Dispose();
    }
}
