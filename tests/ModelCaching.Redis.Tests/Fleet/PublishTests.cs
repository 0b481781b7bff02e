using System.Text;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Fleet;

public sealed class PublishTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Publish_ReachesEveryInstance_WhichServesThatExactVersion()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        Assert.All(fleet.Hosts, h => Assert.Equal("hello from the local file", h.Cache.GetModel()));

        FleetVersion v1 = await fleet.Control.PublishAsync(FleetHost.ModelName, "hello v1"u8.ToArray());

        await fleet.WaitForVersionAsync(v1.VersionId);
        Assert.All(fleet.Hosts, h =>
        {
            Assert.Equal("hello v1", h.Cache.GetModel());
            Assert.Equal(v1.Sha256, h.Cache.Version!.Id);
            Assert.Equal(ModelCacheState.Ready, h.Cache.State);
        });
    }

    [Fact]
    public async Task Publish_OfAFile_StoresItInRedis_AndPublishByLocation_LoadsFromThePath()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        using var directory = new TempDirectory();
        string small = directory.File("small.txt");
        await File.WriteAllTextAsync(small, "hello from a published file");

        FleetVersion inRedis = await fleet.Control.PublishFileAsync(FleetHost.ModelName, small);
        Assert.Equal(FleetContentStorage.Store, inRedis.Storage);
        await fleet.WaitForVersionAsync(inRedis.VersionId);
        Assert.All(fleet.Hosts, h => Assert.Equal("hello from a published file", h.Cache.GetModel()));

        string shared = directory.File("shared.txt");
        await File.WriteAllTextAsync(shared, "hello from a shared volume");
        FleetVersion byPath = await fleet.Control.PublishFileAsync(FleetHost.ModelName, shared, new FleetPublishOptions { Storage = FleetContentStorage.Location, VersionId = "shared-1" });
        Assert.Equal(FleetContentStorage.Location, byPath.Storage);
        Assert.Equal(shared, byPath.Location);

        await fleet.WaitForVersionAsync("shared-1");
        Assert.All(fleet.Hosts, h => Assert.Equal("hello from a shared volume", h.Cache.GetModel()));
    }

    [Fact]
    public async Task Publish_ByLocation_WithAWrongSha256_IsRefusedBeforeTheLoader_AndTheLastGoodModelKeepsServing()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, instances: 1);
        FleetHost host = fleet.Hosts[0];
        using var directory = new TempDirectory();
        string file = directory.File("tampered.txt");
        await File.WriteAllTextAsync(file, "tampered content");
        string otherHash = new('a', 64);

        Task<ModelReloadedEventArgs> noReload = Eventually.NextReload(host.Cache);
        await fleet.Control.PublishLocationAsync(FleetHost.ModelName, file, otherHash, new FileInfo(file).Length, new FleetPublishOptions { VersionId = "tampered" });

        await Eventually.TrueAsync(() => host.Cache.GetHistory() is [.., { Outcome: ModelLoadOutcome.Failure }], "the load of the tampered version failed");
        ModelLoadRecord failure = host.Cache.GetHistory()[^1];
        Assert.Contains("SHA-256 mismatch", failure.Error, StringComparison.Ordinal);
        Assert.Equal("hello from the local file", host.Cache.GetModel());
        Assert.Equal(ModelCacheState.Degraded, host.Cache.State);
        Assert.False(noReload.IsCompleted);
    }

    [Fact]
    public async Task Publish_OfTheSameContentAgain_LoadsNothing()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, instances: 1);
        FleetHost host = fleet.Hosts[0];
        FleetVersion v1 = await fleet.Control.PublishAsync(FleetHost.ModelName, "same"u8.ToArray());
        await fleet.WaitForVersionAsync(v1.VersionId);
        int loads = host.Loads;
        int records = host.Cache.GetHistory().Count;

        await fleet.Control.PublishAsync(FleetHost.ModelName, Encoding.UTF8.GetBytes("same"), new FleetPublishOptions { VersionId = "same-again" });

        // The instance reports the new desired version as served: it looked, and had nothing to do.
        await FleetStatusWait.UntilAsync(fleet.Control, status => status.Members is [{ Models: [{ DesiredVersionId: "same-again", ServedVersionId: "same-again" }] }], "the instance reported the new desired version as served");
        Assert.Equal(records, host.Cache.GetHistory().Count);
        Assert.Equal(loads, host.Loads);
        Assert.Equal("same", host.Cache.GetModel());
    }
}
