using ModelCaching.Redis.Tests.Support;
using StackExchange.Redis;

namespace ModelCaching.Redis.Tests.Placement;

/// <summary>
/// The membership entry of an instance with many tenants: written on the heartbeat and once after a burst of loads (not
/// once per load), and its size follows the models loaded, not the names ever asked for. Writes are counted with
/// Redis's keyspace notifications on the entry's key.
/// </summary>
public sealed class PlacementEntryTests(RedisServerFixture redis, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task ABurstOfLoads_WritesTheEntryOnceAfterIt_NotOncePerLoad_AndTheEntryListsOnlyLoadedModels()
    {
        const int names = 300;
        Assert.Equal("+OK", await redis.Server.CommandAsync("CONFIG SET notify-keyspace-events K$"));
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 1, names: names, replicas: 1);
        PlacedHost host = fleet[0];
        string key = $"modelcaching:fleet:{fleet.FleetName}:member:{host.InstanceId}";
        await using ConnectionMultiplexer watcher = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration);
        int writes = 0;
        await watcher.GetSubscriber().SubscribeAsync(RedisChannel.Literal($"__keyspace@0__:{key}"), (_, message) =>
        {
            if (message == "set")
            {
                Interlocked.Increment(ref writes);
            }
        });

        for (int i = 0; i < names; i++)
        {
            await host.GetAsync(PlacedFleet.Name(i));
        }

        // The burst wrote nothing yet: the report waits for its short delay, then one write says it all.
        await host.RoundAsync(); // a round of the loop: anything it was asked to write is written by now
        int afterBurst = Volatile.Read(ref writes);
        Assert.InRange(afterBurst, 1, 2); // the round's own write (and at most one more)
        fleet.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => Volatile.Read(ref writes) > afterBurst, "the debounced report was written");
        Assert.InRange(Volatile.Read(ref writes), afterBurst + 1, afterBurst + 2);

        FleetMember entry = Assert.Single((await host.Fleet.GetStatusAsync()).Members);
        Assert.Equal(names, entry.PlacedModels!.Count);
        long loadedBytes = long.Parse((await redis.Server.CommandAsync($"STRLEN {key}"))[1..], System.Globalization.CultureInfo.InvariantCulture);

        // Invalidated (as a handoff or an idle timeout leaves them), the models leave the entry: it shrinks to its header.
        foreach (string name in entry.PlacedModels)
        {
            host.Provider.GetCache(name).Invalidate();
        }

        await host.RoundAsync();
        FleetMember empty = Assert.Single((await host.Fleet.GetStatusAsync()).Members);
        Assert.Empty(empty.PlacedModels!);
        Assert.Empty(empty.Models);
        long emptyBytes = long.Parse((await redis.Server.CommandAsync($"STRLEN {key}"))[1..], System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"entry: {emptyBytes} bytes with nothing loaded, {loadedBytes} bytes with {names} placed models loaded ({(loadedBytes - emptyBytes) / names} bytes each); writes: {afterBurst} by the round after the burst, {Volatile.Read(ref writes) - afterBurst} debounced");
        Assert.True(emptyBytes < 1024, $"the entry with nothing loaded is {emptyBytes} bytes");
        Assert.True((loadedBytes - emptyBytes) / names < 200, $"{(loadedBytes - emptyBytes) / names} bytes per loaded model ({loadedBytes} bytes with {names})");
    }
}
