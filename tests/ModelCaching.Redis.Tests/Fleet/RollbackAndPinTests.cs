using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Fleet;

public sealed class RollbackAndPinTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Rollback_TakesEveryInstanceBackToThePreviousVersion()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await fleet.Control.PublishAsync(FleetHost.ModelName, "one"u8.ToArray(), new FleetPublishOptions { VersionId = "one" });
        await fleet.Control.PublishAsync(FleetHost.ModelName, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two" });
        await fleet.WaitForVersionAsync("two");

        FleetDesiredVersion desired = await fleet.Control.RollbackAsync(FleetHost.ModelName);

        Assert.Equal("one", desired.Version.VersionId);
        Assert.Equal(FleetAction.Rollback, desired.Action);
        await fleet.WaitForVersionAsync("one");
        Assert.All(fleet.Hosts, h => Assert.Equal("one", h.Cache.GetModel()));
        InvalidOperationException none = await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.Control.RollbackAsync(FleetHost.ModelName));
        Assert.Contains("no version older than 'one'", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pin_HoldsTheFleetOnAVersion_PublishesAreKept_AndUnpinMovesToTheNewest()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await fleet.Control.PublishAsync(FleetHost.ModelName, "one"u8.ToArray(), new FleetPublishOptions { VersionId = "one" });
        await fleet.WaitForVersionAsync("one");

        FleetDesiredVersion pinned = await fleet.Control.PinAsync(FleetHost.ModelName);
        Assert.True(pinned.Pinned);
        await fleet.Control.PublishAsync(FleetHost.ModelName, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two" });

        Assert.Equal("one", (await fleet.Control.GetDesiredVersionAsync(FleetHost.ModelName))!.Version.VersionId);
        Assert.Equal(["two", "one"], (await fleet.Control.GetVersionsAsync(FleetHost.ModelName)).Select(v => v.VersionId));

        FleetDesiredVersion unpinned = await fleet.Control.UnpinAsync(FleetHost.ModelName);
        Assert.False(unpinned.Pinned);
        Assert.Equal("two", unpinned.Version.VersionId);
        await fleet.WaitForVersionAsync("two");

        await fleet.Control.PinAsync(FleetHost.ModelName, "one");
        await fleet.WaitForVersionAsync("one");
        await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.Control.PinAsync(FleetHost.ModelName, "never-published"));
    }

    [Fact]
    public async Task Publish_KeepsVersionsKept_AndDeletesTheBytesOfOlderOnes()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, instances: 1, configure: o => o.VersionsKept = 3);
        for (int i = 1; i <= 5; i++)
        {
            await fleet.Control.PublishAsync(FleetHost.ModelName, System.Text.Encoding.UTF8.GetBytes($"v{i}"), new FleetPublishOptions { VersionId = $"v{i}" });
        }

        Assert.Equal(["v5", "v4", "v3"], (await fleet.Control.GetVersionsAsync(FleetHost.ModelName)).Select(v => v.VersionId));
        var store = (Records.FleetStore)fleet.Hosts[0].Services.GetService(typeof(Records.FleetStore))!;
        Assert.Null(await store.ReadContentAsync(FleetHost.ModelName, "v1", CancellationToken.None));
        Assert.NotNull(await store.ReadContentAsync(FleetHost.ModelName, "v3", CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.Control.PublishAsync(FleetHost.ModelName, "again"u8.ToArray(), new FleetPublishOptions { VersionId = "v5" }));
    }
}
