using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Redis.Instance;
using ModelCaching.Redis.Tests.Support;
using StackExchange.Redis;

namespace ModelCaching.Redis.Tests.Instance;

/// <summary>
/// What the agent announces on the fleet's members-changed channel, as a subscriber of that channel sees it: the test
/// listens on a queue of its own (StackExchange.Redis's <see cref="ChannelMessageQueue"/>, in the server's order), and ends
/// what it reads with a fence message it publishes itself, so "nothing else was announced" is a read, not a wait.
/// </summary>
public sealed class AgentMembershipAnnouncementTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IDisposable
{
    private const string Instance = "instance-0";
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task AnInstanceThatWroteItsEntry_AnnouncesItsJoin_AndItsLeaveWhenItStops()
    {
        string fleetName = NewFleetName();
        await using ConnectionMultiplexer listener = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration);
        ChannelMessageQueue messages = await listener.GetSubscriber().SubscribeAsync(MembersChanged(fleetName));

        FleetHost host = await FleetHost.StartAsync(redis.Server.Configuration, fleetName, Instance, new FakeTimeProvider(DateTimeOffset.UtcNow), await ModelFileAsync());
        Assert.Equal(Instance, await NextAsync(messages));
        Assert.Contains((await host.Fleet.GetStatusAsync()).Members, m => m.InstanceId == Instance);

        await host.DisposeAsync();

        Assert.Equal(Instance, await NextAsync(messages));
        Assert.False(await EntryExistsAsync(listener, fleetName, Instance));
    }

    [Fact]
    public async Task AProcessThatNeverWroteAnEntry_AnnouncesNoLeaveWhenItStops()
    {
        string fleetName = NewFleetName();
        await using ConnectionMultiplexer listener = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration);
        ChannelMessageQueue messages = await listener.GetSubscriber().SubscribeAsync(MembersChanged(fleetName));

        // The fleet's services and their agent, connected, with no model, no address and no placement (an admin tool, a
        // dashboard): it has nothing to report, so it never writes an entry.
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug).AddFakeLogging());
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(DateTimeOffset.UtcNow));
        services.AddModelCache().AddRedisFleet(o =>
        {
            o.Configuration = redis.Server.Configuration;
            o.FleetName = fleetName;
            o.InstanceId = "admin";
        });
        await using (ServiceProvider provider = services.BuildServiceProvider())
        {
            IHostedService[] hosted = [.. provider.GetServices<IHostedService>()];
            foreach (IHostedService service in hosted)
            {
                await service.StartAsync(CancellationToken.None);
            }

            FleetAgent agent = provider.GetRequiredService<FleetAgent>();
            await Eventually.TrueAsync(() => agent.FullRounds > 0, "the agent ran a round on a live connection (its report step included)");
            Assert.True(agent.IsConnected);
            Assert.False(await EntryExistsAsync(listener, fleetName, "admin"));

            foreach (IHostedService service in hosted.Reverse())
            {
                await service.StopAsync(CancellationToken.None); // a leave would be published (and answered by Redis) before this returns
            }
        }

        await listener.GetSubscriber().PublishAsync(MembersChanged(fleetName), "fence");
        Assert.Equal("fence", await NextAsync(messages));
    }

    [Fact]
    public async Task AfterRedisRestarts_TheAgentAnnouncesItsJoinAgain()
    {
        string fleetName = NewFleetName();
        await using RedisGate gate = RedisGate.Start(redis.Server);
        await using ConnectionMultiplexer listener = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration);
        ChannelMessageQueue messages = await listener.GetSubscriber().SubscribeAsync(MembersChanged(fleetName));
        await using FleetHost host = await FleetHost.StartAsync(gate.Configuration, fleetName, Instance, new FakeTimeProvider(DateTimeOffset.UtcNow), await ModelFileAsync());
        Assert.Equal(Instance, await NextAsync(messages));

        // Redis restarts empty. The instance reaches it through the gate, closed until the listener has subscribed again,
        // so the announce after the instance's reconnect cannot come before the listener is back.
        gate.IsOpen = false;
        redis.Server.Kill();
        await redis.Server.StartAgainAsync();
        await PublishUntilHeardAsync(listener, MembersChanged(fleetName), "probe");
        Assert.Equal("probe", await NextAsync(messages));
        Assert.False(await EntryExistsAsync(listener, fleetName, Instance));

        gate.IsOpen = true;

        Assert.Equal(Instance, await NextAsync(messages));
        Assert.True(await EntryExistsAsync(listener, fleetName, Instance));
    }

    public void Dispose() => _directory.Dispose();

    private static string NewFleetName() => "test-" + Guid.NewGuid().ToString("N")[..12];

    private static RedisChannel MembersChanged(string fleetName) => RedisChannel.Literal($"modelcaching:fleet:{fleetName}:members-changed");

    private async Task<string> ModelFileAsync()
    {
        string file = _directory.File("greeting.txt");
        await File.WriteAllTextAsync(file, "hello from the local file");
        return file;
    }

    /// <summary>Whether the fleet's Redis holds the membership entry of <paramref name="instanceId"/>.</summary>
    private static Task<bool> EntryExistsAsync(ConnectionMultiplexer connection, string fleetName, string instanceId) =>
        connection.GetDatabase().KeyExistsAsync($"modelcaching:fleet:{fleetName}:member:{instanceId}");

    /// <summary>The next message on the queue (bounded).</summary>
    private static async Task<string> NextAsync(ChannelMessageQueue messages)
    {
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        try
        {
            return (await messages.ReadAsync(bound.Token)).Message.ToString();
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no message on {messages.Channel} within {Eventually.Timeout}");
            throw;
        }
    }

    /// <summary>Publishes <paramref name="message"/> until the server says a subscriber got it (bounded): the listener subscribed again.</summary>
    private static async Task PublishUntilHeardAsync(ConnectionMultiplexer connection, RedisChannel channel, string message)
    {
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        while (await PublishOrZeroAsync(connection, channel, message) == 0)
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"no subscriber on {channel} after {Eventually.Timeout}");
            }

            await Task.Delay(20, CancellationToken.None);
        }
    }

    private static async Task<long> PublishOrZeroAsync(ConnectionMultiplexer connection, RedisChannel channel, string message)
    {
        try
        {
            return await connection.GetSubscriber().PublishAsync(channel, message);
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException)
        {
            return 0; // not reconnected yet
        }
    }
}
