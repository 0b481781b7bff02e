using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Redis.Tests.Support;
using StackExchange.Redis;

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

    [Fact]
    public async Task AnAbortedCanary_GoesBackAtOnce_NotAfterItsShareOfTheLoadJitter()
    {
        // The jitter spreads a move of the whole fleet; going back from an aborted version moves only the canaries, and
        // each moment it waits serves a version the operator took back.
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, configure: o => o.LoadJitter = TimeSpan.FromMinutes(10));
        await fleet.Control.PublishAsync(Model, "one"u8.ToArray(), new FleetPublishOptions { VersionId = "one" });
        foreach (FleetHost host in fleet.Hosts)
        {
            await host.ReconcileNowAsync(); // each has scheduled its load within the jitter
        }

        fleet.Time.Advance(TimeSpan.FromMinutes(10));
        await fleet.WaitForVersionAsync("one");
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3, "three instances report the model");

        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });
        FleetRollout rollout = (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!;
        FleetHost canary = fleet.Hosts.Single(h => h.InstanceId == Assert.Single(rollout.Canaries));
        await canary.WaitForVersionAsync("two"); // a canary loads at once

        await fleet.Control.AbortAsync(Model, "p99 up 30%");

        // The clock does not move: only a load at once takes the canary back.
        await canary.WaitForVersionAsync("one");
        Assert.All(fleet.Hosts, h => Assert.Equal("one", h.Cache.GetModel()));
    }

    [Fact]
    public async Task ARollbackReadWhileAFleetWideLoadIsHeld_TakesEveryInstanceBackOnceTheLoadsEnd()
    {
        await using Support.Fleet fleet = await StartOnAsync("one", "one");
        Hold(fleet);
        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two" });
        foreach (FleetHost host in fleet.Hosts)
        {
            await Eventually.TrueAsync(() => host.AtGate > 0, $"{host.InstanceId} is loading two");
        }

        FleetDesiredVersion back = await fleet.Control.RollbackAsync(Model);
        Assert.Equal("one", back.Version.VersionId);
        await ReleaseAndSettleAsync(fleet, "one");
    }

    [Fact]
    public async Task AnAbortReadWhileTheCanaryStillLoads_TakesItBackOnceTheLoadEnds_WithoutWaitingForATick()
    {
        // The fleet's clock is fake: no reconciliation tick comes, so only the load's own end can take the canary back.
        await using Support.Fleet fleet = await StartOnAsync("one", "one");
        Hold(fleet);
        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });
        FleetHost canary = await CanaryAtGateAsync(fleet);

        // The canary reads the abort while it still serves one: reconciliation finds nothing to reload.
        await fleet.Control.AbortAsync(Model, "error rate");
        await canary.ReconcileNowAsync();
        Assert.Equal("one", canary.Cache.Version!.ETag);
        int loads = canary.Loads;

        // Two serves for a moment (the load ended), then the canary reads the name again and goes back.
        await ReleaseAndSettleAsync(fleet, "one");
        Assert.Equal(loads + 2, canary.Loads);
    }

    [Fact]
    public async Task APinReadWhileTheCanaryStillLoads_TakesItBackOnceTheLoadEnds()
    {
        await using Support.Fleet fleet = await StartOnAsync("one", "one");
        Hold(fleet);
        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });
        FleetHost canary = await CanaryAtGateAsync(fleet);

        FleetDesiredVersion pinned = await fleet.Control.PinAsync(Model);
        Assert.Equal(("one", true), (pinned.Version.VersionId, pinned.Pinned));
        await canary.ReconcileNowAsync();
        Assert.Equal("one", canary.Cache.Version!.ETag);
        await ReleaseAndSettleAsync(fleet, "one");
    }

    [Fact]
    public async Task ASecondCanaryPublishThenAnAbort_WhileTheFirstCanaryStillLoads_EndWithEveryInstanceOnTheFleetVersion()
    {
        await using Support.Fleet fleet = await StartOnAsync("one", "one");
        Hold(fleet);
        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });
        await CanaryAtGateAsync(fleet);
        await fleet.Control.PublishAsync(Model, "three"u8.ToArray(), new FleetPublishOptions { VersionId = "three", CanaryShare = 0.3 });
        await CanaryAtGateAsync(fleet);
        FleetDesiredVersion aborted = await fleet.Control.AbortAsync(Model, "both bad");
        Assert.Equal("one", aborted.Rollout!.Previous!.VersionId);
        await ReleaseAndSettleAsync(fleet, "one");
    }

    [Fact]
    public async Task ACanaryLoadThatFails_AfterAPlainPublishMovedTheTarget_StopsNothing_AndTheFixServes()
    {
        await using Support.Fleet fleet = await StartOnAsync("good v1", "good");
        Hold(fleet);
        await fleet.Control.PublishAsync(Model, "bad v2"u8.ToArray(), new FleetPublishOptions { VersionId = "bad", CanaryShare = 0.3 });
        FleetHost canary = await CanaryAtGateAsync(fleet);

        // The canary reads the fix while its load of bad is held: the load fails after the rollout it was a canary of is gone.
        await fleet.Control.PublishAsync(Model, "good v3"u8.ToArray(), new FleetPublishOptions { VersionId = "fixed" });
        await canary.ReconcileNowAsync();
        await ReleaseAndSettleAsync(fleet, "fixed");
        Assert.Contains(canary.Cache.GetHistory(), r => r.Outcome == ModelLoadOutcome.Failure);
        FleetDesiredVersion desired = (await fleet.Control.GetDesiredVersionAsync(Model))!;
        Assert.Equal((FleetAction.Publish, "fixed", null), (desired.Action, desired.Version.VersionId, desired.Rollout));
    }

    [Fact]
    public async Task AnAbortWhileTheCanariesAreCutFromRedis_WithLoadsHeld_IsFollowedOnceTheyReconnect()
    {
        // Every instance is a canary of two, then of three (its load of two held, a second load queued behind it); Redis
        // goes away for the instances, the operator aborts, the loads end (the queued one fetches while cut off, so it
        // aims at three, the version it accepted last), and only the reconnect tells them.
        await using RedisGate gate = RedisGate.Start(redis.Server);
        using var directory = new TempDirectory();
        string file = Path.Combine(directory.Path, "greeting.txt");
        await File.WriteAllTextAsync(file, LocalFile);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        string name = "test-" + Guid.NewGuid().ToString("N")[..12];
        await using ServiceProvider publisher = FleetHost.Publisher(redis.Server.Configuration, name, signingKey: null);
        IModelFleet control = publisher.GetRequiredService<IModelFleet>();
        FleetHost[] hosts = new FleetHost[3];
        try
        {
            for (int i = 0; i < hosts.Length; i++)
            {
                hosts[i] = await FleetHost.StartAsync(gate.Configuration, name, $"instance-{i}", time, file);
            }

            await control.PublishAsync(Model, "one"u8.ToArray(), new FleetPublishOptions { VersionId = "one" });
            await Task.WhenAll(hosts.Select(h => h.WaitForVersionAsync("one")));
            await FleetStatusWait.UntilAsync(control, s => s.Members.Count == 3, "three instances report the model");
            foreach (FleetHost host in hosts)
            {
                host.LoaderGate.Reset();
            }

            await control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.99 });
            await Eventually.TrueAsync(() => hosts.All(h => h.AtGate > 0), "every canary is loading two");
            await control.PublishAsync(Model, "three"u8.ToArray(), new FleetPublishOptions { VersionId = "three", CanaryShare = 0.99 });
            foreach (FleetHost host in hosts)
            {
                await host.ReconcileNowAsync();
                Assert.Equal("three", host.Agent.Describe().Models[0].DesiredVersionId);
            }

            gate.IsOpen = false;
            await redis.Server.CommandAsync("CLIENT KILL TYPE pubsub");
            await redis.Server.CommandAsync("CLIENT KILL TYPE normal");
            await Eventually.TrueAsync(() => hosts.All(h => !h.Agent.IsConnected), "every instance lost Redis");
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        await control.AbortAsync(Model, "error rate");
                        return true;
                    }
                    catch (RedisConnectionException)
                    {
                        return false; // the publisher's own connection was killed too; it reconnects
                    }
                },
                "the abort is written");

            foreach (FleetHost host in hosts)
            {
                host.LoaderGate.Set();
            }

            await Eventually.TrueAsync(() => hosts.All(h => h.AtGate == 0 && !h.Agent.Models.Single().LoadScheduled && h.Cache.GetHistory().Count >= 3), "the held loads and the ones behind them ended");
            Assert.All(hosts, h => Assert.NotEqual("one", h.Cache.Version!.ETag)); // nothing told them yet

            gate.IsOpen = true;
            await Eventually.TrueAsync(() => hosts.All(h => h.Cache.Version?.ETag == "one"), "every instance is back on one after its reconnect");
            await FleetStatusWait.UntilAsync(control, s => s.Members.Count == 3 && s.Members.All(m => m.Models is [{ ServedVersionId: "one", DesiredVersionId: "one", Canary: false }]), "three instances report one");
        }
        finally
        {
            foreach (FleetHost? host in hosts)
            {
                if (host is not null)
                {
                    await host.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task ACanaryThatFailedOnTheContentBefore_StopsANewRolloutOfIt_ThoughItDoesNotLoadItAgain()
    {
        await using Support.Fleet fleet = await StartOnAsync("good v1", "good");
        await fleet.Control.PublishAsync(Model, "bad v2"u8.ToArray(), new FleetPublishOptions { VersionId = "bad", CanaryShare = 0.3 });
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Desired.Rollout.Stage: FleetRolloutStage.Stopped }], "the first rollout stopped");
        string canaryId = Assert.Single((await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!.Canaries);
        FleetHost canary = fleet.Hosts.Single(h => h.InstanceId == canaryId);
        await canary.ReconcileNowAsync();

        // The same content again, under a version id whose one canary is the same instance: it knows the content fails
        // and does not load it again (reconciliation does not retry a content failure).
        string again = Enumerable.Range(2, 100).Select(i => $"bad{i}").First(id => Rollouts.ChooseCanaries(fleet.Hosts.Select(h => h.InstanceId), Model, id, 0.3).SequenceEqual([canaryId]));
        await fleet.Control.PublishAsync(Model, "bad v2"u8.ToArray(), new FleetPublishOptions { VersionId = again, CanaryShare = 0.3 });
        Assert.Equal([canaryId], (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!.Canaries);

        // Its failure on the content is the canary's answer: the rollout stops, as it would after a load.
        FleetStatus status = await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Desired.Rollout.Stage: FleetRolloutStage.Stopped, Desired.Version.VersionId: var id }] && id == again, "the second rollout stopped too");
        Assert.Equal(canaryId, status.Models[0].Desired!.ChangedBy);
        Assert.All(fleet.Hosts, h => Assert.Equal("good v1", h.Cache.GetModel()));
    }

    [Fact]
    public async Task AStoppedRollout_StaysStopped_ThroughAPinAndAnUnpin()
    {
        await using Support.Fleet fleet = await StartOnAsync("good v1", "good");
        FleetVersion bad = await fleet.Control.PublishAsync(Model, "bad v2"u8.ToArray(), new FleetPublishOptions { VersionId = "bad", CanaryShare = 0.3 });
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Desired.Rollout.Stage: FleetRolloutStage.Stopped }], "the rollout stopped by itself");
        string canaryId = Assert.Single((await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!.Canaries);

        // An operator holds the fleet on what it serves, then lets it follow publishes again: the newest publish is the
        // stopped rollout, which the rest of the fleet never tries.
        await fleet.Control.PinAsync(Model);
        FleetDesiredVersion unpinned = await fleet.Control.UnpinAsync(Model);
        foreach (FleetHost host in fleet.Hosts)
        {
            await host.ReconcileNowAsync();
        }

        Assert.All(fleet.Hosts.Where(h => h.InstanceId != canaryId), h => Assert.False(h.Tried(bad.Sha256), $"{h.InstanceId} tried the version whose rollout stopped (unpin made the desired record {unpinned.Version.VersionId}, rollout {unpinned.Rollout?.Stage.ToString() ?? "none"})"));
        Assert.All(fleet.Hosts, h => Assert.Equal("good v1", h.Cache.GetModel()));
    }

    [Fact]
    public async Task AStopThatRedisRefuses_IsTriedAgainAtTheNextRound_NotInALoop()
    {
        await using Support.Fleet fleet = await StartOnAsync("good v1", "good");
        Hold(fleet);
        await fleet.Control.PublishAsync(Model, "bad v2"u8.ToArray(), new FleetPublishOptions { VersionId = "bad", CanaryShare = 0.3 });
        FleetHost canary = await CanaryAtGateAsync(fleet);
        int StopsFailed() => canary.Logs.GetSnapshot().Count(r => r.Id.Id == 314);

        // Redis answers but refuses writes (as a replica after a failover, or a server out of memory or unable to save):
        // the canary's failure cannot stop the rollout for now.
        Assert.Equal("+OK", await redis.Server.CommandAsync("CONFIG SET min-replicas-to-write 1"));
        try
        {
            canary.LoaderGate.Set();
            await Eventually.TrueAsync(() => StopsFailed() > 0, "the canary's stop failed");

            // Each round tries the stop again (a tick, a reconnect, a message); nothing else does. Before, each failure
            // asked for a round at once: about three tries a millisecond, each three round trips and a warning.
            for (int round = 0; round < 5; round++)
            {
                await canary.ReconcileNowAsync();
            }

            Assert.InRange(StopsFailed(), 1, 5 + 2);
        }
        finally
        {
            Assert.Equal("+OK", await redis.Server.CommandAsync("CONFIG SET min-replicas-to-write 0"));
        }

        await canary.ReconcileNowAsync();
        FleetDesiredVersion stopped = (await fleet.Control.GetDesiredVersionAsync(Model))!;
        Assert.Equal((FleetRolloutStage.Stopped, canary.InstanceId), (stopped.Rollout!.Stage, stopped.ChangedBy));
    }

    [Fact]
    public async Task AFirstRolloutReplacedByAnother_TakesItsCanaryBackToItsOwnSource_WhenTheNewOneDoesNotPickIt()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3, "three instances report the model");
        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });
        string first = Assert.Single((await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!.Canaries);
        FleetHost canary = fleet.Hosts.Single(h => h.InstanceId == first);
        await canary.WaitForVersionAsync("two");

        // A newer rollout (still no Previous: the fleet at large serves its own files) whose one canary is another instance.
        string next = Enumerable.Range(3, 100).Select(i => $"v{i}").First(id => !Rollouts.ChooseCanaries(fleet.Hosts.Select(h => h.InstanceId), Model, id, 0.3).Contains(first));
        await fleet.Control.PublishAsync(Model, "three"u8.ToArray(), new FleetPublishOptions { VersionId = next, CanaryShare = 0.3 });
        FleetRollout rollout = (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!;
        Assert.Null(rollout.Previous);
        FleetHost newCanary = fleet.Hosts.Single(h => h.InstanceId == Assert.Single(rollout.Canaries));
        await newCanary.WaitForVersionAsync(next);

        // Two is nobody's version any more: its canary serves what the rest of the fleet serves.
        await Eventually.TrueAsync(() => canary.Cache.GetModel() == LocalFile, "the first canary serves its own file again");
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3 && !s.Members.Any(m => m.Models is [{ DesiredVersionId: "two" } or { ServedVersionId: "two" }]), "no instance reports two");
    }

    private static void Hold(Support.Fleet fleet)
    {
        foreach (FleetHost host in fleet.Hosts)
        {
            host.LoaderGate.Reset();
        }
    }

    private static async Task<FleetHost> CanaryAtGateAsync(Support.Fleet fleet)
    {
        FleetRollout rollout = (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!;
        FleetHost canary = fleet.Hosts.Single(h => h.InstanceId == Assert.Single(rollout.Canaries));
        await Eventually.TrueAsync(() => canary.AtGate > 0, $"the canary {canary.InstanceId} is loading {rollout.Canaries[0]}");
        return canary;
    }

    // Lets the held loads go, then (with no tick: the clock is fake) waits until every instance serves and reports versionId.
    private static async Task ReleaseAndSettleAsync(Support.Fleet fleet, string versionId)
    {
        foreach (FleetHost host in fleet.Hosts)
        {
            host.LoaderGate.Set();
        }

        await Eventually.TrueAsync(() => fleet.Hosts.All(h => h.AtGate == 0 && h.Cache.Version?.ETag == versionId), $"every instance serves {versionId}, no load in flight");
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3 && s.Members.All(m => m.Models is [{ ServedVersionId: { } served, DesiredVersionId: { } desired }] && served == versionId && desired == versionId), $"three instances report {versionId}, served and desired");
    }

    private Task<Support.Fleet> StartOnAsync(string content, string versionId) => Support.Fleet.StartServingAsync(redis.Server, content, versionId);
}
