using Microsoft.Extensions.Time.Testing;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Fleet;

/// <summary>
/// Models known only at run time in a fleet: those made from a template (<c>tenant-a</c> from <c>tenants</c>) and those
/// <c>AddModels</c> discovers. Three instances, each with its own services, on a real redis-server.
/// </summary>
public sealed class RuntimeModelsFleetTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task APublishForATemplateModel_ReachesTheInstancesThatHoldIt_WaitsForTheOthers_AndCreatesNothing()
    {
        await using Hosts hosts = await Hosts.StartAsync(redis.Server);
        RuntimeModelsHost[] holders = [hosts[0], hosts[1]];
        foreach (RuntimeModelsHost host in holders)
        {
            Assert.Equal("tenant-a local", await host.Provider.GetCache<string>("tenant-a").GetModelAsync());
        }

        FleetStatus before = await FleetStatusWait.UntilAsync(hosts.Control, s => s.Members.Count == 2, "the two instances that made tenant-a report it");
        Assert.All(before.Members, m => Assert.Equal("tenant-a", Assert.Single(m.Models).Name));

        await hosts.Control.PublishAsync("tenant-a", "tenant-a v1"u8.ToArray(), new FleetPublishOptions { VersionId = "v1" });
        await hosts.Control.PublishAsync("tenant-nobody", "nobody's"u8.ToArray(), new FleetPublishOptions { VersionId = "n1" });
        foreach (RuntimeModelsHost host in holders)
        {
            IModelCache<string> cache = host.Provider.GetCache<string>("tenant-a");
            await Eventually.TrueAsync(() => cache.Version?.ETag == "v1", $"{host.InstanceId} serves tenant-a v1");
            Assert.Equal("tenant-a v1", cache.GetModel());
        }

        // The third instance made neither name: a publish (and a full reconciliation) creates no model there.
        await Task.WhenAll(hosts.All.Select(h => h.ReconcileNowAsync()));
        Assert.DoesNotContain("tenant-a", hosts[2].Provider.Names);
        Assert.All(hosts.All, h => Assert.DoesNotContain("tenant-nobody", h.Provider.Names));
        Assert.Empty(hosts[2].FleetModels);

        // When it first uses tenant-a, the record that waited in Redis is what it loads (not its local file).
        IModelCache<string> late = hosts[2].Provider.GetCache<string>("tenant-a");
        Assert.Equal("tenant-a v1", await late.GetModelAsync());
        Assert.Equal("v1", late.Version!.ETag);
        FleetStatus status = await FleetStatusWait.UntilAsync(hosts.Control, s => s.Models.Any(m => m.Name == "tenant-a" && m.Serving is [{ VersionId: "v1", Instances: 3 }]), "three instances serve tenant-a v1");
        Assert.All(status.Members, m => Assert.Equal("v1", Assert.Single(m.Models, x => x.Name == "tenant-a").ServedVersionId));

        // A name with no file of its own is served from the fleet alone once published.
        await hosts.Control.PublishAsync("tenant-new", "tenant-new v1"u8.ToArray(), new FleetPublishOptions { VersionId = "t1" });
        Assert.Equal("tenant-new v1", await hosts[0].Provider.GetCache<string>("tenant-new").GetModelAsync());
    }

    [Fact]
    public async Task AModelAddModelsDiscovered_FollowsTheFleet_AndIsReported()
    {
        await using Hosts hosts = await Hosts.StartAsync(redis.Server);
        foreach (RuntimeModelsHost host in hosts.All)
        {
            Assert.Equal("discovered local", await host.Provider.GetCache<string>(RuntimeModelsHost.Discovered).GetModelAsync());
        }

        await hosts.Control.PublishAsync(RuntimeModelsHost.Discovered, "discovered v2"u8.ToArray(), new FleetPublishOptions { VersionId = "d2" });
        foreach (RuntimeModelsHost host in hosts.All)
        {
            IModelCache<string> cache = host.Provider.GetCache<string>(RuntimeModelsHost.Discovered);
            await Eventually.TrueAsync(() => cache.Version?.ETag == "d2", $"{host.InstanceId} serves d2");
            Assert.Equal("discovered v2", cache.GetModel());
        }

        await FleetStatusWait.UntilAsync(hosts.Control, s => s.Models is [{ Name: RuntimeModelsHost.Discovered, Serving: [{ VersionId: "d2", Instances: 3 }] }], "three instances report d2");
    }

    [Fact]
    public async Task ATemplatesNameInModels_CoversEveryModelMadeFromIt_AndOnlyThose()
    {
        await using Hosts hosts = await Hosts.StartAsync(redis.Server, instances: 1, o => o.Models.Add(RuntimeModelsHost.Template));
        RuntimeModelsHost host = hosts[0];
        await host.Provider.GetCache<string>("tenant-a").GetModelAsync();
        await host.Provider.GetCache<string>(RuntimeModelsHost.Discovered).GetModelAsync();
        Assert.Equal(["tenant-a"], host.FleetModels);

        await host.Fleet.PublishAsync(RuntimeModelsHost.Discovered, "not for this instance"u8.ToArray(), new FleetPublishOptions { VersionId = "x" });
        await host.ReconcileNowAsync();
        Assert.Equal("discovered local", host.Provider.GetCache<string>(RuntimeModelsHost.Discovered).GetModel());
    }

    [Fact]
    public async Task ATemplateModelWhoseFirstLoadFails_IsDropped_AndLeavesTheFleet()
    {
        await using Hosts hosts = await Hosts.StartAsync(redis.Server, instances: 1);
        RuntimeModelsHost host = hosts[0];
        await Assert.ThrowsAsync<TemplateModelNotFoundException>(async () => await host.Provider.GetCache<string>("tenant-missing").GetModelAsync());
        await Eventually.TrueAsync(() => !host.FleetModels.Contains("tenant-missing"), "the dropped model left the fleet");

        // Published afterwards, the same name loads from the fleet on its next use.
        await host.Fleet.PublishAsync("tenant-missing", "found"u8.ToArray(), new FleetPublishOptions { VersionId = "f1" });
        Assert.Equal("found", await host.Provider.GetCache<string>("tenant-missing").GetModelAsync());
        Assert.Contains("tenant-missing", host.FleetModels);
    }

    /// <summary>Instances of one fleet with run-time models, on one fake clock, with a directory of local files.</summary>
    private sealed class Hosts : IAsyncDisposable
    {
        private readonly TempDirectory _directory;

        private Hosts(TempDirectory directory, RuntimeModelsHost[] all)
        {
            _directory = directory;
            All = all;
        }

        public RuntimeModelsHost[] All { get; }

        public IModelFleet Control => All[0].Fleet;

        public RuntimeModelsHost this[int index] => All[index];

        public static async Task<Hosts> StartAsync(RedisServer server, int instances = 3, Action<RedisFleetOptions>? configure = null)
        {
            var directory = new TempDirectory();
            foreach (string name in (string[])["tenant-a", "tenant-b", RuntimeModelsHost.Discovered])
            {
                await File.WriteAllTextAsync(Path.Combine(directory.Path, name + ".txt"), name + " local");
            }

            var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
            string fleet = "runtime-" + Guid.NewGuid().ToString("N")[..12];
            var all = new RuntimeModelsHost[instances];
            for (int i = 0; i < instances; i++)
            {
                all[i] = await RuntimeModelsHost.StartAsync(server.Configuration, fleet, $"instance-{i}", time, directory.Path, configure);
            }

            return new Hosts(directory, all);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (RuntimeModelsHost host in All)
            {
                await host.DisposeAsync();
            }

            _directory.Dispose();
        }
    }
}
