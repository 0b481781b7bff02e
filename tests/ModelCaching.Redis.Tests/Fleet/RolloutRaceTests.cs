using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Fleet;

/// <summary>
/// Control actions (publish, canary publish, promote, abort, rollback, pin) racing loads that are still in flight, on a
/// real redis-server: each case holds a load in the loader (<see cref="FleetHost.LoaderGate"/>), changes the desired
/// record, lets the load end, and checks the instance ends on its target without waiting for a reconciliation tick (the
/// fleet's clock is fake: no tick comes).
/// </summary>
public sealed class RolloutRaceTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Model = FleetHost.ModelName;
    private const string LocalFile = "hello from the local file";

    [Fact]
    public async Task AnAbortedFirstRollout_TakesTheCanaryBackToItsOwnSource()
    {
        // Nothing was published before: the rollout has no Previous, and the rest of the fleet serves its own files.
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3, "three instances report the model");
        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });
        FleetRollout rollout = (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!;
        Assert.Null(rollout.Previous);
        FleetHost canary = fleet.Hosts.Single(h => h.InstanceId == Assert.Single(rollout.Canaries));
        await canary.WaitForVersionAsync("two");

        await fleet.Control.AbortAsync(Model, "error rate");

        // The aborted version is served nowhere: the canary goes back to what the rest of the fleet serves.
        await Eventually.TrueAsync(() => canary.Cache.GetModel() == LocalFile, "the canary serves its own file again");
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3 && s.Members.All(m => m.Models is [{ DesiredVersionId: null, ServedVersionId: not "two" }]), "no instance reports the aborted version, as its target or as served");
        Assert.All(fleet.Hosts, h => Assert.Equal(LocalFile, h.Cache.GetModel()));
    }

    [Fact]
    public async Task AnAbortedFirstRollout_ReadWhileTheCanaryStillLoads_TakesTheCanaryBackOnceTheLoadEnds()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3, "three instances report the model");
        foreach (FleetHost host in fleet.Hosts)
        {
            host.LoaderGate.Reset();
        }

        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });
        FleetRollout rollout = (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!;
        FleetHost canary = fleet.Hosts.Single(h => h.InstanceId == Assert.Single(rollout.Canaries));
        await Eventually.TrueAsync(() => canary.AtGate > 0, "the canary is loading two");

        await fleet.Control.AbortAsync(Model, "error rate");
        await canary.ReconcileNowAsync();
        int loads = canary.Loads;
        foreach (FleetHost host in fleet.Hosts)
        {
            host.LoaderGate.Set();
        }

        await Eventually.TrueAsync(() => canary.Loads >= loads + 2 && canary.Cache.GetModel() == LocalFile, "the canary served two, then its own file again");
        Assert.All(fleet.Hosts, h => Assert.Equal(LocalFile, h.Cache.GetModel()));
    }
}
