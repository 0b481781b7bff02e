using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Fleet;

public sealed class FailureTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task BadVersion_FailsValidationOnEveryInstance_WhichKeepsItsLastGoodModel_AndTheStatusSaysWhy()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        FleetVersion good = await fleet.Control.PublishAsync(FleetHost.ModelName, "good v1"u8.ToArray(), new FleetPublishOptions { VersionId = "good" });
        await fleet.WaitForVersionAsync(good.VersionId);

        FleetVersion bad = await fleet.Control.PublishAsync(FleetHost.ModelName, "bad v2"u8.ToArray(), new FleetPublishOptions { VersionId = "bad" });

        foreach (FleetHost host in fleet.Hosts)
        {
            await Eventually.TrueAsync(() => host.Cache.GetHistory() is [.., { Outcome: ModelLoadOutcome.Failure }], "each instance tried the bad version and failed");
            Assert.Equal("good v1", host.Cache.GetModel());
            Assert.Equal(good.VersionId, host.Cache.Version!.ETag);
            Assert.Equal(ModelCacheState.Degraded, host.Cache.State);
        }

        // Failures are reported at once, not at the next heartbeat (the fake clock does not move).
        FleetStatus status = await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Failures.Count: 3 }], "three failures reported");
        FleetModelStatus model = Assert.Single(status.Models);
        Assert.Equal(bad.VersionId, model.Desired!.Version.VersionId);
        Assert.Equal([new FleetVersionCount(good.VersionId, 3)], model.Serving);
        Assert.Equal(3, model.Instances);
        Assert.All(model.Failures, f =>
        {
            Assert.Equal(bad.VersionId, f.VersionId);
            Assert.Contains("the validator rejects 'bad v2'", f.Error, StringComparison.Ordinal);
        });

        // Reconciliation does not try the same bad content again; a good publish moves everyone on.
        int records = fleet.Hosts[0].Cache.GetHistory().Count;
        fleet.Time.Advance(TimeSpan.FromSeconds(40));
        FleetVersion fixedVersion = await fleet.Control.PublishAsync(FleetHost.ModelName, "good v3"u8.ToArray(), new FleetPublishOptions { VersionId = "fixed" });
        await fleet.WaitForVersionAsync(fixedVersion.VersionId);
        Assert.All(fleet.Hosts, h => Assert.Equal(ModelCacheState.Ready, h.Cache.State));
        Assert.DoesNotContain(fleet.Hosts[0].Cache.GetHistory().Skip(records), r => r.Outcome == ModelLoadOutcome.Failure);
    }

    [Fact]
    public async Task RedisKilledMidLoop_ServingGoesOnWithoutAFailure_HealthIsDegraded_AndEveryInstanceCatchesUpAfterTheRestart()
    {
        await using RedisServer server = await RedisServer.StartAsync();
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(server);
        FleetVersion v1 = await fleet.Control.PublishAsync(FleetHost.ModelName, "v1"u8.ToArray(), new FleetPublishOptions { VersionId = "v1" });
        await fleet.WaitForVersionAsync(v1.VersionId);
        foreach (FleetHost host in fleet.Hosts)
        {
            Assert.Equal(HealthStatus.Healthy, await host.FleetHealthAsync());
        }

        using var predictions = new PredictionLoop(fleet.Hosts.Select(h => h.Cache).ToArray());

        // v2 is written without its announcement (a lost message) and saved, so the restarted server has it.
        await ((ModelFleet)fleet.Control).PublishCoreAsync(FleetHost.ModelName, Sha256("v2"), 2, FleetContentStorage.Store, null, Encoding.UTF8.GetBytes("v2"), new FleetPublishOptions { VersionId = "v2" }, CancellationToken.None, announce: false);
        Assert.Equal("+OK", await server.CommandAsync("SAVE"));
        server.Kill();

        foreach (FleetHost host in fleet.Hosts)
        {
            await Eventually.TrueAsync(async () => await host.FleetHealthAsync() == HealthStatus.Degraded, "the control plane is reported Degraded");
            Assert.Equal("v1", host.Cache.GetModel());
            Assert.Equal(ModelCacheState.Ready, host.Cache.State); // the model is fine; only the control plane is not
        }

        await predictions.WaitForMoreAsync();
        await server.StartAgainAsync();

        // On reconnect every instance reads the desired versions (nothing replays the lost message) and catches up.
        await fleet.WaitForVersionAsync("v2");
        foreach (FleetHost host in fleet.Hosts)
        {
            await Eventually.TrueAsync(async () => await host.FleetHealthAsync() == HealthStatus.Healthy, "the control plane is reported Healthy again");
        }

        FleetVersion v3 = await fleet.Control.PublishAsync(FleetHost.ModelName, "v3"u8.ToArray(), new FleetPublishOptions { VersionId = "v3" });
        await fleet.WaitForVersionAsync(v3.VersionId);
        await predictions.WaitForMoreAsync();
        (long served, long failed) = predictions.Stop();
        Assert.Equal(0, failed);
        Assert.True(served > 0);
    }

    [Fact]
    public async Task RedisRestartedEmpty_InstancesKeepServingWhatTheyHave_AndSaySo()
    {
        await using RedisServer server = await RedisServer.StartAsync();
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(server);
        FleetVersion v1 = await fleet.Control.PublishAsync(FleetHost.ModelName, "v1"u8.ToArray(), new FleetPublishOptions { VersionId = "v1" });
        await fleet.WaitForVersionAsync(v1.VersionId);

        server.Kill(); // nothing saved: it comes back empty
        await server.StartAgainAsync();

        FleetStatus status = await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Failures.Count: 3 }], "every instance says the desired version is gone");
        Assert.All(Assert.Single(status.Models).Failures, f => Assert.Contains("Redis has no desired version any more (was v1)", f.Error, StringComparison.Ordinal));
        foreach (FleetHost host in fleet.Hosts)
        {
            Assert.Equal("v1", host.Cache.GetModel());
            Assert.Equal(ModelCacheState.Ready, host.Cache.State);
            Assert.Equal(HealthStatus.Degraded, await host.FleetHealthAsync());
        }

        FleetVersion v2 = await fleet.Control.PublishAsync(FleetHost.ModelName, "v2"u8.ToArray(), new FleetPublishOptions { VersionId = "v2" });
        await fleet.WaitForVersionAsync(v2.VersionId);
        foreach (FleetHost host in fleet.Hosts)
        {
            await Eventually.TrueAsync(async () => await host.FleetHealthAsync() == HealthStatus.Healthy, "a new publish ends it");
        }
    }

    [Fact]
    public async Task FiftyPublishesInABurst_EndOnTheLast_WithAtMostTwoLoadsPerInstance()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        FleetVersion first = await fleet.Control.PublishAsync(FleetHost.ModelName, "burst 0"u8.ToArray(), new FleetPublishOptions { VersionId = "burst-0" });
        await fleet.WaitForVersionAsync(first.VersionId);
        int[] before = [.. fleet.Hosts.Select(h => h.Loads)];

        // Loads block in the loader until the burst is over: a load started by an early message holds, and every later
        // message folds into the one follow-up load, which reads the newest desired version.
        foreach (FleetHost host in fleet.Hosts)
        {
            host.LoaderGate.Reset();
        }

        for (int i = 1; i <= 50; i++)
        {
            await fleet.Control.PublishAsync(FleetHost.ModelName, Encoding.UTF8.GetBytes($"burst {i}"), new FleetPublishOptions { VersionId = $"burst-{i}" });
        }

        foreach (FleetHost host in fleet.Hosts)
        {
            host.LoaderGate.Set();
        }

        await fleet.WaitForVersionAsync("burst-50");
        for (int i = 0; i < fleet.Hosts.Count; i++)
        {
            Assert.Equal("burst 50", fleet.Hosts[i].Cache.GetModel());
            int loads = fleet.Hosts[i].Loads - before[i];
            Assert.InRange(loads, 1, 2);
        }
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
