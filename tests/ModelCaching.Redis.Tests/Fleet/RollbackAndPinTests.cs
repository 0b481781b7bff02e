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
    public async Task Rollback_SkipsAVersionWhoseRolloutWasAborted_AndAnExplicitPinOfItIsAllowed()
    {
        await using Support.Fleet fleet = await StartOnAsync("one");
        await fleet.Control.PublishAsync(FleetHost.ModelName, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two" });
        await fleet.WaitForVersionAsync("two");
        await fleet.Control.PublishAsync(FleetHost.ModelName, "three"u8.ToArray(), new FleetPublishOptions { VersionId = "three", CanaryShare = 0.3 });
        await fleet.Control.AbortAsync(FleetHost.ModelName, "error rate");
        await fleet.Control.PublishAsync(FleetHost.ModelName, "four"u8.ToArray(), new FleetPublishOptions { VersionId = "four" });
        await fleet.WaitForVersionAsync("four");
        Assert.Equal(["three"], (await fleet.Control.GetDesiredVersionAsync(FleetHost.ModelName))!.Withdrawn); // carried by the publish

        // Back from four: not to three, whose rollout was aborted, but to two.
        FleetDesiredVersion rolledBack = await fleet.Control.RollbackAsync(FleetHost.ModelName);
        Assert.Equal("two", rolledBack.Version.VersionId);
        Assert.Equal(["three"], rolledBack.Withdrawn);
        await fleet.WaitForVersionAsync("two");

        // The operator may still pin it by name: it stays withdrawn, so an unpin goes to four, not back to three.
        FleetDesiredVersion pinned = await fleet.Control.PinAsync(FleetHost.ModelName, "three");
        Assert.Equal("three", pinned.Version.VersionId);
        Assert.Equal(["three"], pinned.Withdrawn);
        await fleet.WaitForVersionAsync("three");
        Assert.Equal("four", (await fleet.Control.UnpinAsync(FleetHost.ModelName)).Version.VersionId);
    }

    [Fact]
    public async Task Unpin_WhenEveryVersionKeptWasWithdrawn_IsRefused_UntilAFixedVersionIsPublished()
    {
        await using Support.Fleet fleet = await StartOnAsync("one", o => o.VersionsKept = 2);
        foreach (string id in (string[])["two", "three"])
        {
            await fleet.Control.PublishAsync(FleetHost.ModelName, System.Text.Encoding.UTF8.GetBytes(id), new FleetPublishOptions { VersionId = id, CanaryShare = 0.3 });
            await fleet.Control.AbortAsync(FleetHost.ModelName);
        }

        Assert.Equal(["three", "two"], (await fleet.Control.GetVersionsAsync(FleetHost.ModelName)).Select(v => v.VersionId));
        FleetDesiredVersion pinned = await fleet.Control.PinAsync(FleetHost.ModelName); // what the fleet serves: one
        Assert.Equal("one", pinned.Version.VersionId);
        Assert.Equal(["three", "two"], pinned.Withdrawn);

        InvalidOperationException refused = await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.Control.UnpinAsync(FleetHost.ModelName));
        Assert.Contains($"model '{FleetHost.ModelName}': every version the fleet keeps (three, two) was withdrawn", refused.Message, StringComparison.Ordinal);
        Assert.Contains("publish a fixed version", refused.Message, StringComparison.Ordinal);
        Assert.True((await fleet.Control.GetDesiredVersionAsync(FleetHost.ModelName))!.Pinned);

        // A fixed version: the unpin goes to it, and two, no longer kept, leaves the list.
        await fleet.Control.PublishAsync(FleetHost.ModelName, "four"u8.ToArray(), new FleetPublishOptions { VersionId = "four" });
        FleetDesiredVersion unpinned = await fleet.Control.UnpinAsync(FleetHost.ModelName);
        Assert.Equal("four", unpinned.Version.VersionId);
        Assert.Equal(["three"], unpinned.Withdrawn);
        await fleet.WaitForVersionAsync("four");
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

    // A canary publish needs live instances that report the model.
    private async Task<Support.Fleet> StartOnAsync(string versionId, Action<RedisFleetOptions>? configure = null)
    {
        Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, configure: configure);
        await fleet.Control.PublishAsync(FleetHost.ModelName, System.Text.Encoding.UTF8.GetBytes(versionId), new FleetPublishOptions { VersionId = versionId });
        await fleet.WaitForVersionAsync(versionId);
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3 && s.Members.All(m => m.Models is [{ ServedVersionId: { } served }] && served == versionId), $"three instances report {versionId}");
        return fleet;
    }
}
