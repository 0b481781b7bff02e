using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Redis.Instance;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Placement;

/// <summary>
/// On a real redis-server: the warm-ups a death hands an instance are bounded. At most
/// <see cref="PlacementWarmer.Slots"/> (half the load slots) load at once, so a request's own load is not
/// queued behind them, and a warm whose turn comes when the placed models' budget has no room for a model of the average size is skipped (event
/// 406) rather than evict what serves.
/// </summary>
public sealed class PlacementWarmLimitsTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task TheNamesADeadOwnerHandsOver_AreWarmedAFewAtATime_SoARequestsOwnLoadFindsASlot()
    {
        const int names = 40;
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: names, replicas: 1);
        PlacedHost a = fleet[0], b = fleet[1];
        string[] all = [.. Enumerable.Range(0, names).Select(PlacedFleet.Name)];
        string[] onA = [.. all.Where(n => fleet.Owners(n)[0] == a.InstanceId)];
        string requested = all.First(n => fleet.Owners(n)[0] == b.InstanceId);
        int slots = b.Placement.Warmer.Slots;
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), slots); // half the load slots (MaxConcurrentLoads)
        Assert.True(onA.Length > slots + 2, $"a owns {onA.Length} of {names}");
        foreach (string name in onA)
        {
            await a.GetAsync(name);
        }

        await KillAndConfirmAsync(fleet, a, b, holdLoads: true);

        // Every name waits to warm, but only the warm slots load; a request's own load still gets a load slot at once.
        await Eventually.TrueAsync(() => b.InLoaderNow == slots, $"{slots} warms reached the loader");
        Assert.Equal(onA.Length, b.Placement.Warming);
        Task<string> request = b.GetAsync(requested);
        await Eventually.TrueAsync(() => b.IsInLoader(requested), "the request's load reached the loader while the warms waited");
        Assert.Equal(slots + 1, b.InLoaderNow); // the warms that hold a slot, and the request: no other warm got in
        Assert.Equal(slots + 1, b.MostInLoader);
        b.LoaderGate.Set();
        Assert.Equal($"{requested} v1", await request);
        await Eventually.TrueAsync(() => b.Placement.Warming == 0, "every warm ended");

        Assert.All(onA, name => Assert.True(b.IsServing(name), $"{name} was not warmed"));
    }

    [Fact]
    public async Task WarmsStillWaitingWhenTheHostStops_EndWithoutLoading_OrFailingOnTheDisposedProvider()
    {
        const int names = 40;
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: names, replicas: 1);
        PlacedHost a = fleet[0], b = fleet[1];
        string[] onA = [.. Enumerable.Range(0, names).Select(PlacedFleet.Name).Where(n => fleet.Owners(n)[0] == a.InstanceId)];
        foreach (string name in onA)
        {
            await a.GetAsync(name);
        }

        await KillAndConfirmAsync(fleet, a, b, holdLoads: true);
        await Eventually.TrueAsync(() => b.InLoaderNow == b.Placement.Warmer.Slots, "the warm slots are loading");
        Microsoft.Extensions.Logging.Testing.FakeLogCollector logs = b.Logs;
        InstancePlacement placement = b.Placement;
        Assert.True(placement.Warming > b.Placement.Warmer.Slots);

        await fleet.LeaveAsync(b); // stops the host (its dispose lets the held loads go)
        await Eventually.TrueAsync(() => placement.Warming == 0, "every warm ended");

        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Id.Id == 403); // none tried the disposed provider
    }

    [Fact]
    public async Task AWarmCutShortByTheHostsStop_EndsQuietly()
    {
        const int names = 40;
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: names, replicas: 1);
        PlacedHost a = fleet[0], b = fleet[1];
        foreach (string name in Enumerable.Range(0, names).Select(PlacedFleet.Name).Where(n => fleet.Owners(n)[0] == a.InstanceId))
        {
            await a.GetAsync(name);
        }

        await KillAndConfirmAsync(fleet, a, b, holdLoads: true);
        await Eventually.TrueAsync(() => b.InLoaderNow == b.Placement.Warmer.Slots, "the warm slots are loading");
        InstancePlacement placement = b.Placement;
        Microsoft.Extensions.Logging.Testing.FakeLogCollector logs = b.Logs;

        // The host stops with the warms' loads still in the loader: the provider's disposal cuts them short. That is the
        // stop, not a failed warm to warn about (event 403).
        fleet.Hosts.Remove(b);
        await b.StopAsync(releaseHeldLoads: false);
        await Eventually.TrueAsync(() => placement.Warming == 0, "every warm ended");
        b.LoaderGate.Set();

        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Id.Id == 403);
    }

    [Fact]
    public async Task WarmsThatRunTogether_CountEachOther_SoTheyDoNotEvictWhatServes()
    {
        const int names = 24, fits = 4; // each model is 11 or 12 bytes ("tenant-12 v1")
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: names, replicas: 1, budgetBytes: fits * 12, maxConcurrentLoads: 8);
        PlacedHost a = fleet[0], b = fleet[1];
        Assert.Equal(4, b.Placement.Warmer.Slots);
        string[] all = [.. Enumerable.Range(0, names).Select(PlacedFleet.Name)];
        string[] onA = [.. all.Where(n => fleet.Owners(n)[0] == a.InstanceId).Take(fits)];
        string[] onB = [.. all.Where(n => fleet.Owners(n)[0] == b.InstanceId).Take(fits - 1)]; // room for one more
        foreach (string name in onA)
        {
            await a.GetAsync(name);
        }

        foreach (string name in onB)
        {
            await b.GetAsync(name);
        }

        await KillAndConfirmAsync(fleet, a, b, holdLoads: true); // the warms that pass the budget check stay in the loader, their memory not reserved yet
        await Eventually.TrueAsync(() => b.InLoaderNow + b.Logs.GetSnapshot().Count(r => r.Id.Id == 406) == onA.Length, "every warm loads or was skipped");
        b.LoaderGate.Set();
        await Eventually.TrueAsync(() => b.Placement.Warming == 0, "every warm ended");

        Assert.Equal(1, onA.Count(b.IsServing)); // the room for one
        Assert.All(onB, name => Assert.True(b.IsServing(name), $"{name}, which b serves, was evicted"));
    }

    [Fact]
    public async Task AWarmWhoseTurnComesWithTheBudgetFull_IsSkipped_AndWhatServesIsNotEvicted()
    {
        const int names = 24, fits = 4; // each model is about 11 bytes ("tenant-12 v1")
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: names, replicas: 1, budgetBytes: fits * 12);
        PlacedHost a = fleet[0], b = fleet[1];
        string[] all = [.. Enumerable.Range(0, names).Select(PlacedFleet.Name)];
        string[] onA = [.. all.Where(n => fleet.Owners(n)[0] == a.InstanceId).Take(fits)];
        string[] onB = [.. all.Where(n => fleet.Owners(n)[0] == b.InstanceId).Take(fits)];
        foreach (string name in onA)
        {
            await a.GetAsync(name);
        }

        foreach (string name in onB)
        {
            await b.GetAsync(name); // b's budget is full of its own tenants
        }

        int loadsOnB = b.TotalLoads;
        await KillAndConfirmAsync(fleet, a, b, holdLoads: false);
        await Eventually.TrueAsync(() => b.Placement.Warming == 0, "every warm ended");

        Assert.Equal(onA.Length, b.Logs.GetSnapshot().Count(r => r.Id.Id == 406));
        Assert.Equal(loadsOnB, b.TotalLoads);
        Assert.All(onB, name => Assert.True(b.IsServing(name), $"{name}, which b serves, was evicted"));
    }

    // Lets the fleet settle (the survivor reads what the dead one has loaded), kills `dead` (its entry expires), and lets
    // `survivor` read the membership without it and again two heartbeats later, which confirms the departure and starts
    // the warms (held in the loader if asked).
    private static async Task KillAndConfirmAsync(PlacedFleet fleet, PlacedHost dead, PlacedHost survivor, bool holdLoads)
    {
        await fleet.SettleAsync();
        await fleet.KillAsync(dead);
        await fleet.ExpireAsync(dead);
        if (holdLoads)
        {
            survivor.LoaderGate.Reset();
        }

        await survivor.RoundAsync();
        fleet.Time.Advance(survivor.Agent.Settings.HeartbeatInterval * 2);
        await survivor.RoundAsync();
    }
}
