using Microsoft.Extensions.Time.Testing;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>Three (or more) instances of one fleet in the test process, each with its own services, on one fake clock.</summary>
public sealed class Fleet : IAsyncDisposable
{
    private readonly TempDirectory _directory;

    private Fleet(TempDirectory directory, FakeTimeProvider time, string name, FleetHost[] hosts)
    {
        _directory = directory;
        Time = time;
        Name = name;
        Hosts = hosts;
    }

    public FakeTimeProvider Time { get; }

    public string Name { get; }

    public IReadOnlyList<FleetHost> Hosts { get; }

    public IModelFleet Control => Hosts[0].Fleet;

    public static async Task<Fleet> StartAsync(RedisServer server, int instances = 3, Action<RedisFleetOptions>? configure = null)
    {
        var directory = new TempDirectory();
        string file = Path.Combine(directory.Path, "greeting.txt");
        await File.WriteAllTextAsync(file, "hello from the local file");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        string name = "test-" + Guid.NewGuid().ToString("N")[..12];
        var hosts = new FleetHost[instances];
        for (int i = 0; i < instances; i++)
        {
            hosts[i] = await FleetHost.StartAsync(server.Configuration, name, $"instance-{i}", time, file, configure);
        }

        return new Fleet(directory, time, name, hosts);
    }

    /// <summary>
    /// A fleet of three serving <paramref name="content"/> as the published version <paramref name="versionId"/>, every
    /// instance's membership entry in Redis (canaries are chosen among them).
    /// </summary>
    public static async Task<Fleet> StartServingAsync(RedisServer server, string content, string versionId, Action<RedisFleetOptions>? configure = null)
    {
        Fleet fleet = await StartAsync(server, configure: configure);
        await fleet.Control.PublishAsync(FleetHost.ModelName, System.Text.Encoding.UTF8.GetBytes(content), new FleetPublishOptions { VersionId = versionId });
        await fleet.WaitForVersionAsync(versionId);
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3 && s.Members.All(m => m.Models is [{ ServedVersionId: { } served }] && served == versionId), $"three instances report {versionId}");
        return fleet;
    }

    public Task WaitForVersionAsync(string versionId) => Task.WhenAll(Hosts.Select(h => h.WaitForVersionAsync(versionId)));

    public async ValueTask DisposeAsync()
    {
        foreach (FleetHost host in Hosts)
        {
            await host.DisposeAsync();
        }

        _directory.Dispose();
    }
}
