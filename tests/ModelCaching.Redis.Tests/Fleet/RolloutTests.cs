using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Fleet;

/// <summary>Staged rollouts on a real redis-server: canaries first, a canary's failure stops the rollout fleet-wide, promote and abort; loads spread over the jitter.</summary>
public sealed class RolloutTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Model = FleetHost.ModelName;

    [Fact]
    public async Task BadVersionWithACanary_TheCanaryKeepsItsLastGoodModel_TheRolloutStops_AndTheOthersNeverLoadIt()
    {
        await using Support.Fleet fleet = await StartOnAsync("good v1", "good");
        int[] loads = [.. fleet.Hosts.Select(h => h.Loads)];

        FleetVersion bad = await fleet.Control.PublishAsync(Model, "bad v2"u8.ToArray(), new FleetPublishOptions { VersionId = "bad", CanaryShare = 0.25 });

        FleetDesiredVersion published = (await fleet.Control.GetDesiredVersionAsync(Model))!;
        string canaryId = Assert.Single(published.Rollout!.Canaries); // a quarter of 3 instances: at least one
        FleetHost canary = fleet.Hosts.Single(h => h.InstanceId == canaryId);

        // The canary fails validation and stops the rollout by itself, in one transaction on the desired record.
        FleetStatus status = await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Desired.Rollout.Stage: FleetRolloutStage.Stopped }], "the rollout stopped by itself");
        FleetDesiredVersion stopped = Assert.Single(status.Models).Desired!;
        Assert.Equal(FleetAction.Stop, stopped.Action);
        Assert.Equal(canaryId, stopped.ChangedBy);
        Assert.Equal("bad", stopped.Version.VersionId);
        Assert.Equal("good", stopped.Rollout!.Previous!.VersionId);
        Assert.Contains($"canary {canaryId} failed to load version bad", stopped.Rollout.Reason, StringComparison.Ordinal);
        Assert.Contains("the validator rejects 'bad v2'", stopped.Rollout.Reason, StringComparison.Ordinal);

        Assert.True(canary.Tried(bad.Sha256));
        Assert.Equal("good v1", canary.Cache.GetModel());
        Assert.Equal("good", canary.Cache.Version!.ETag);

        // The rest of the fleet read the stopped record (and every record once more, as a tick does) and never tried it.
        foreach (FleetHost host in fleet.Hosts)
        {
            await host.ReconcileNowAsync();
        }

        for (int i = 0; i < fleet.Hosts.Count; i++)
        {
            FleetHost host = fleet.Hosts[i];
            Assert.Equal("good v1", host.Cache.GetModel());
            if (host != canary)
            {
                Assert.False(host.Tried(bad.Sha256), $"{host.InstanceId} tried the bad version");
                Assert.Equal(loads[i], host.Loads);
                Assert.Equal(ModelCacheState.Ready, host.Cache.State);
            }
        }

        status = await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3 && s.Members.All(m => m.Models is [{ DesiredVersionId: "good", Canary: false }]), "every instance reports the previous version as its target");
        Assert.Equal([new FleetVersionCount("good", 3)], Assert.Single(status.Models).Serving);

        // A stopped rollout is not promoted; a fixed version moves everyone.
        InvalidOperationException refused = await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.Control.PromoteAsync(Model));
        Assert.Contains("stopped", refused.Message, StringComparison.Ordinal);
        await fleet.Control.PublishAsync(Model, "good v3"u8.ToArray(), new FleetPublishOptions { VersionId = "fixed" });
        await fleet.WaitForVersionAsync("fixed");
    }

    [Fact]
    public async Task TwoCanariesFailingAtOnce_StopTheRolloutOnce_AndTheThirdInstanceNeverTriesIt()
    {
        await using Support.Fleet fleet = await StartOnAsync("good v1", "good");

        // Both canaries' loads are held in the loader, then let go together: their stops race for the one record.
        FleetHost[] hosts = [.. fleet.Hosts];
        foreach (FleetHost host in hosts)
        {
            host.LoaderGate.Reset();
        }

        FleetVersion bad = await fleet.Control.PublishAsync(Model, "bad v2"u8.ToArray(), new FleetPublishOptions { VersionId = "bad", CanaryShare = 0.5 });
        IReadOnlyList<string> canaries = (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!.Canaries;
        Assert.Equal(2, canaries.Count);

        // Only once both canaries hold the version in their loader: a canary that had not started when the other's
        // failure stopped the rollout would never try it (the stop is what it reads next), which is right, but not this test.
        foreach (FleetHost canary in hosts.Where(h => canaries.Contains(h.InstanceId)))
        {
            await Eventually.TrueAsync(() => canary.AtGate > 0, $"{canary.InstanceId} is loading the version as a canary");
        }

        foreach (FleetHost host in hosts)
        {
            host.LoaderGate.Set();
        }

        FleetStatus status = await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Desired.Rollout.Stage: FleetRolloutStage.Stopped }], "the rollout stopped");
        FleetDesiredVersion stopped = status.Models[0].Desired!;
        Assert.Contains(stopped.ChangedBy, canaries);
        Assert.StartsWith($"canary {stopped.ChangedBy} failed", stopped.Rollout!.Reason, StringComparison.Ordinal);
        foreach (FleetHost host in hosts)
        {
            await Eventually.TrueAsync(() => !canaries.Contains(host.InstanceId) || host.Tried(bad.Sha256), $"{host.InstanceId} tried the version as a canary");
            await host.ReconcileNowAsync();
            Assert.Equal("good v1", host.Cache.GetModel());
            Assert.Equal(canaries.Contains(host.InstanceId), host.Tried(bad.Sha256));
        }

        // The second stop found the rollout stopped already and changed nothing: the record is the first canary's.
        FleetDesiredVersion now = (await fleet.Control.GetDesiredVersionAsync(Model))!;
        Assert.Equal((FleetAction.Stop, stopped.ChangedBy, stopped.ChangedAt, stopped.Rollout.Reason), (now.Action, now.ChangedBy, now.ChangedAt, now.Rollout!.Reason));
    }

    [Fact]
    public async Task GoodCanary_ServesOnTheCanariesOnly_UntilPromoted_ThenReachesEveryInstance()
    {
        await using Support.Fleet fleet = await StartOnAsync("one", "one");

        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.5 });

        FleetRollout rollout = (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!;
        Assert.Equal(FleetRolloutStage.Canary, rollout.Stage);
        Assert.Equal(2, rollout.Canaries.Count); // half of 3, rounded up
        Assert.Equal("one", rollout.Previous!.VersionId);
        FleetHost[] canaries = [.. fleet.Hosts.Where(h => rollout.Canaries.Contains(h.InstanceId))];
        FleetHost other = Assert.Single(fleet.Hosts.Except(canaries));
        await Task.WhenAll(canaries.Select(h => h.WaitForVersionAsync("two")));
        await other.ReconcileNowAsync();
        Assert.Equal("one", other.Cache.GetModel());

        FleetStatus status = await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Serving: [{ VersionId: "two", Instances: 2 }, { VersionId: "one", Instances: 1 }] }], "two canaries serve two, one instance serves one");
        Assert.Equal(rollout.Canaries, status.Members.Where(m => m.Models[0].Canary).Select(m => m.InstanceId));

        FleetDesiredVersion promoted = await fleet.Control.PromoteAsync(Model);
        Assert.Equal(FleetAction.Promote, promoted.Action);
        Assert.Equal(FleetRolloutStage.Promoted, promoted.Rollout!.Stage);
        await fleet.WaitForVersionAsync("two");
        Assert.All(fleet.Hosts, h => Assert.Equal("two", h.Cache.GetModel()));
        await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.Control.AbortAsync(Model));
    }

    [Fact]
    public async Task Abort_TakesTheCanariesBackToWhatTheFleetServes()
    {
        await using Support.Fleet fleet = await StartOnAsync("one", "one");
        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });
        FleetRollout rollout = (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!;
        FleetHost canary = fleet.Hosts.Single(h => h.InstanceId == Assert.Single(rollout.Canaries));
        await canary.WaitForVersionAsync("two");

        FleetDesiredVersion aborted = await fleet.Control.AbortAsync(Model, "latency up 30% on the canary");

        Assert.Equal(FleetRolloutStage.Aborted, aborted.Rollout!.Stage);
        Assert.Equal("latency up 30% on the canary", aborted.Rollout.Reason);
        await canary.WaitForVersionAsync("one");
        Assert.All(fleet.Hosts, h => Assert.Equal("one", h.Cache.GetModel()));
    }

    [Fact]
    public async Task APinDuringTheCanaryStage_WithdrawsTheCanaryVersion_SoAnUnpinDoesNotSendItToTheWholeFleet()
    {
        await using Support.Fleet fleet = await StartOnAsync("one", "one");
        FleetVersion two = await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });
        string canaryId = Assert.Single((await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!.Canaries);
        FleetHost canary = fleet.Hosts.Single(h => h.InstanceId == canaryId);
        await canary.WaitForVersionAsync("two");

        // The operator holds the fleet on what it serves while the canary runs: that takes two back, as an abort would.
        FleetDesiredVersion pinned = await fleet.Control.PinAsync(Model);
        Assert.Equal("one", pinned.Version.VersionId);
        Assert.Equal(["two"], pinned.Withdrawn);
        await canary.WaitForVersionAsync("one");

        // Following publishes again: two never had its canary stage through, so the fleet stays on one.
        FleetDesiredVersion unpinned = await fleet.Control.UnpinAsync(Model);
        Assert.Equal("one", unpinned.Version.VersionId);
        foreach (FleetHost host in fleet.Hosts)
        {
            await host.ReconcileNowAsync();
        }

        Assert.All(fleet.Hosts.Where(h => h != canary), h => Assert.False(h.Tried(two.Sha256), $"{h.InstanceId} tried two"));
        Assert.All(fleet.Hosts, h => Assert.Equal("one", h.Cache.GetModel()));
    }

    [Fact]
    public async Task AnUnpinDuringTheCanaryStage_KeepsTheStage_TheRestOfTheFleetStaysOnThePreviousVersion()
    {
        await using Support.Fleet fleet = await StartOnAsync("one", "one");
        FleetVersion two = await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });
        string canaryId = Assert.Single((await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!.Canaries);
        await fleet.Hosts.Single(h => h.InstanceId == canaryId).WaitForVersionAsync("two");

        FleetDesiredVersion unpinned = await fleet.Control.UnpinAsync(Model);

        Assert.Equal(("two", FleetAction.Unpin, FleetRolloutStage.Canary), (unpinned.Version.VersionId, unpinned.Action, unpinned.Rollout?.Stage));
        foreach (FleetHost host in fleet.Hosts)
        {
            await host.ReconcileNowAsync();
        }

        Assert.All(fleet.Hosts.Where(h => h.InstanceId != canaryId), h => Assert.False(h.Tried(two.Sha256), $"{h.InstanceId} tried two"));
    }

    [Fact]
    public async Task ACanaryPublish_WithNoLiveInstance_IsRefused_AndAShareOutOfRange_Too()
    {
        string name = "test-" + Guid.NewGuid().ToString("N")[..12];
        await using Microsoft.Extensions.DependencyInjection.ServiceProvider publisher = FleetHost.Publisher(redis.Server.Configuration, name, signingKey: null);
        IModelFleet fleet = (IModelFleet)publisher.GetService(typeof(IModelFleet))!;

        InvalidOperationException none = await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.PublishAsync(Model, "x"u8.ToArray(), new FleetPublishOptions { CanaryShare = 0.25 }));
        Assert.Contains("no live instance reports the model", none.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => fleet.PublishAsync(Model, "x"u8.ToArray(), new FleetPublishOptions { CanaryShare = 1 }));
        Assert.Null(await fleet.GetDesiredVersionAsync(Model));
    }

    [Fact]
    public async Task WithoutACanary_InstancesSpreadTheirLoadsOverTheJitter_EachAtItsOwnShare()
    {
        TimeSpan jitter = TimeSpan.FromSeconds(10);
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, configure: o => o.LoadJitter = jitter);
        (FleetHost Host, TimeSpan Delay)[] order = [.. fleet.Hosts.Select(h => (h, Rollouts.LoadDelay(h.InstanceId, Model, "v1", jitter))).OrderBy(x => x.Item2)];
        Assert.Equal(3, order.Select(x => x.Delay).Distinct().Count());
        Assert.All(order, x => Assert.InRange(x.Delay, TimeSpan.Zero, jitter));

        await fleet.Control.PublishAsync(Model, "v1"u8.ToArray(), new FleetPublishOptions { VersionId = "v1" });

        // Every instance read the new version (and armed its timer) before the clock moves; none loaded it yet.
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3 && s.Members.All(m => m.Models is [{ DesiredVersionId: "v1" }]), "every instance read v1");
        Assert.All(fleet.Hosts, h => Assert.Equal("hello from the local file", h.Cache.GetModel()));

        TimeSpan elapsed = TimeSpan.Zero;
        for (int i = 0; i < order.Length; i++)
        {
            fleet.Time.Advance(order[i].Delay - elapsed);
            elapsed = order[i].Delay;
            await order[i].Host.WaitForVersionAsync("v1");
            for (int j = i + 1; j < order.Length; j++)
            {
                Assert.Equal("hello from the local file", order[j].Host.Cache.GetModel());
            }
        }
    }

    private Task<Support.Fleet> StartOnAsync(string content, string versionId) => Support.Fleet.StartServingAsync(redis.Server, content, versionId);
}
