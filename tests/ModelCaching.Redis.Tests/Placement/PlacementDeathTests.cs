using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Placement;

/// <summary>
/// On a real redis-server: when an owner dies (no graceful leave; its entry expires) or leaves, the names it had loaded
/// are warmed on their new owners once it is still absent two heartbeats later, before any request; and a view read
/// while Redis comes back empty (an instance that sees itself alone for a moment) warms nothing.
/// </summary>
public sealed class PlacementDeathTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnOwnerThatDiesOrLeaves_HasTheTenantItHadLoaded_WarmedOnItsNewOwner_BeforeAnyRequest(bool dies)
    {
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: 20, replicas: 1);
        PlacedHost a = fleet[0], b = fleet[1];
        string name = Enumerable.Range(0, 20).Select(PlacedFleet.Name).First(n => fleet.Owners(n)[0] == a.InstanceId);
        Assert.Equal($"{name} v1", await a.GetAsync(name));
        await fleet.SettleAsync(); // b reads a's entry, which lists the tenant
        Assert.Contains(name, b.Placement.View!.PlacedOn(a.InstanceId));
        using var warmed = new MetricCollector<long>(b.Services.GetRequiredService<IMeterFactory>(), "ModelCaching", "modelcache.fleet.placement.warmed");

        if (dies)
        {
            await fleet.KillAsync(a);
            await fleet.ExpireAsync(a, after: TimeSpan.FromMilliseconds(200)); // Redis expires it, as MemberTimeToLive does
        }
        else
        {
            await fleet.LeaveAsync(a); // removes its entry and announces it
        }

        // b's next membership read no longer has a: it owns the tenant now, but waits two heartbeats before warming it.
        await Eventually.TrueAsync(
            async () =>
            {
                await b.RoundAsync();
                return !b.Placement.View!.Contains(a.InstanceId);
            },
            $"{b.InstanceId} read the membership without {a.InstanceId}");

        // What would show a warm at once, not when its load ends: none is under way, none was logged (event 402).
        Assert.Equal(0, b.Placement.Warming);
        Assert.DoesNotContain(b.Logs.GetSnapshot(), r => r.Id.Id == 402);
        Assert.False(b.IsServing(name));
        Assert.Equal(0, b.LoadsOf(name));

        // A heartbeat later a is still absent, but b allows a late write one more heartbeat.
        fleet.Time.Advance(b.Agent.Settings.HeartbeatInterval);
        await b.RoundAsync();
        Assert.Equal(0, b.Placement.Warming);
        Assert.DoesNotContain(b.Logs.GetSnapshot(), r => r.Id.Id == 402);
        Assert.Equal(0, b.LoadsOf(name));

        // Two heartbeats after b first missed it: b loads the tenant before any request reaches it.
        fleet.Time.Advance(b.Agent.Settings.HeartbeatInterval);
        await b.RoundAsync();
        await warmed.WaitForMeasurementsAsync(1, Eventually.Timeout);

        Assert.True(b.IsServing(name));
        Assert.Equal(1, b.LoadsOf(name));
        Assert.Equal(1, warmed.GetMeasurementSnapshot().Sum(m => m.Value)); // only the one tenant a had loaded
        Assert.Contains(b.Logs.GetSnapshot(), r => r.Id.Id == 402 && r.Message.Contains(name, StringComparison.Ordinal) && r.Message.Contains(a.InstanceId, StringComparison.Ordinal));
        Assert.Equal($"{name} v1", await b.GetAsync(name));
        Assert.Equal(1, b.LoadsOf(name)); // the request found it loaded
        Assert.Empty(b.LoadsNotOwned);
    }

    [Fact]
    public async Task AfterRedisRestartsEmpty_AnInstanceWaitsTheMembersTimeToLive_BeforeItTakesAnotherStillReconnectingForDead()
    {
        const int names = 20;
        await using RedisServer server = await RedisServer.StartAsync(); // this test restarts it
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(server, instances: 1, names: names, replicas: 1);
        await using RedisGate gate = RedisGate.Start(server);
        PlacedHost a = fleet[0];
        PlacedHost b = await fleet.JoinAsync(gate.Configuration); // b reaches Redis only through the gate
        await fleet.SettleAsync();
        for (int i = 0; i < names; i++)
        {
            await fleet.Host(fleet.Owners(PlacedFleet.Name(i))[0]).GetAsync(PlacedFleet.Name(i));
        }

        await fleet.SettleAsync();
        Assert.NotEmpty(a.Placement.View!.PlacedOn(b.InstanceId));
        int loads = fleet.Hosts.Sum(h => h.TotalLoads);
        using var warmed = new MetricCollector<long>(a.Services.GetRequiredService<IMeterFactory>(), "ModelCaching", "modelcache.fleet.placement.warmed");

        // Redis restarts empty; a reconnects at once, b stays away (its back-off, say) for longer than two heartbeats.
        gate.IsOpen = false;
        server.Kill();
        await server.StartAgainAsync();
        await Eventually.TrueAsync(() => a.Logs.GetSnapshot().Any(r => r.Id.Id == 304), $"{a.InstanceId} reconnected");
        await Eventually.TrueAsync(
            async () =>
            {
                await a.RoundAsync();
                return a.Placement.View!.Members.SequenceEqual([a.InstanceId]);
            },
            $"{a.InstanceId} read a membership of itself alone");
        TimeSpan heartbeat = a.Agent.Settings.HeartbeatInterval;
        foreach (TimeSpan step in new[] { heartbeat, heartbeat, heartbeat / 2 })
        {
            fleet.Time.Advance(step);
            await a.RoundAsync();
        }

        // Past the two heartbeats that confirm a departure, but within the members' time to live after the reconnect.
        Assert.True(heartbeat * 2.5 < a.Agent.Settings.MemberTimeToLive);
        Assert.Equal(0, a.Placement.Warming);
        Assert.DoesNotContain(a.Logs.GetSnapshot(), r => r.Id.Id == 402);
        Assert.Empty(warmed.GetMeasurementSnapshot());

        // b is back and writes its entry again: it was never gone.
        gate.IsOpen = true;
        await Eventually.TrueAsync(
            async () =>
            {
                await b.RoundAsync();
                await a.RoundAsync();
                return a.Placement.View!.Contains(b.InstanceId);
            },
            $"{a.InstanceId} read {b.InstanceId}'s entry again");
        fleet.Time.Advance(a.Agent.Settings.MemberTimeToLive);
        await fleet.SettleAsync();

        Assert.Empty(warmed.GetMeasurementSnapshot());
        Assert.Equal(loads, fleet.Hosts.Sum(h => h.TotalLoads));
    }

    [Fact]
    public async Task AnInstanceThatSeesItselfAlone_WhileRedisComesBackEmpty_WarmsNothing_WhenTheOthersWriteTheirEntriesAgain()
    {
        const int names = 20;
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: names, replicas: 1);
        for (int i = 0; i < names; i++)
        {
            await fleet.Host(fleet.Owners(PlacedFleet.Name(i))[0]).GetAsync(PlacedFleet.Name(i));
        }

        await fleet.SettleAsync();
        int loads = fleet.Hosts.Sum(h => h.TotalLoads);
        using var warmed = new MetricCollector<long>(fleet[0].Services.GetRequiredService<IMeterFactory>(), "ModelCaching", "modelcache.fleet.placement.warmed");

        // Redis lost every entry (restarted without persistence): the first instance writes its entry and reads before the
        // second writes its own, so for a moment it owns every name; then the second is back.
        await fleet.ForgetMembersAsync();
        await fleet[0].RoundAsync();
        Assert.Equal([fleet[0].InstanceId], fleet[0].Placement.View!.Members);
        await fleet[1].RoundAsync();
        await fleet[0].RoundAsync();
        fleet.Time.Advance(fleet[0].Agent.Settings.HeartbeatInterval);
        await fleet.SettleAsync();

        Assert.Empty(warmed.GetMeasurementSnapshot());
        Assert.Equal(loads, fleet.Hosts.Sum(h => h.TotalLoads));
        for (int i = 0; i < names; i++)
        {
            string name = PlacedFleet.Name(i);
            Assert.All(fleet.Hosts, h => Assert.Equal(fleet.Owners(name).Contains(h.InstanceId), h.IsServing(name)));
        }
    }
}
