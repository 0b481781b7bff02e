using Microsoft.Extensions.Time.Testing;
using ModelCaching.Redis.Tests.Support;
using StackExchange.Redis;

namespace ModelCaching.Redis.Tests.Instance;

/// <summary>
/// The agent hands its change handler to the multiplexer once, even when the server does not answer the subscribe in
/// time. StackExchange.Redis keeps a handler whose subscribe failed or timed out and runs it on every message once the
/// server has the subscription; a retry each round would add one more copy per failed try, and every message would then
/// run the handler once per copy. Redis is made to stall with <c>CLIENT PAUSE … ALL</c> (the server queues the subscribe
/// and answers it when the pause ends), on a connection from the test that counts handlers and their runs.
/// </summary>
public sealed class AgentSubscriptionTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const int SubscribeFailed = 310;

    // Long enough for the agent to connect, send its subscribe and give up on it (asyncTimeout, checked on the
    // multiplexer's heartbeat each second), short enough to keep the test fast. The pause ends by itself: under
    // CLIENT PAUSE ALL the server does not take CLIENT UNPAUSE either.
    private const int PauseMilliseconds = 6000; // long enough for the host to start and send its SUBSCRIBE on a busy CI machine

    [Fact]
    public async Task ASubscribeThatTimedOut_IsNotTriedAgain_SoEachChangeMessageRunsTheHandlerOnce()
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration + ",syncTimeout=500,asyncTimeout=500");
        var counting = new HandlerCountingMultiplexer(connection);
        using var directory = new TempDirectory();
        string file = directory.File("greeting.txt");
        await File.WriteAllTextAsync(file, "hello from the local file");
        string fleetName = "test-" + Guid.NewGuid().ToString("N")[..12];

        Assert.Equal("+OK", await redis.Server.CommandAsync($"CLIENT PAUSE {PauseMilliseconds} ALL"));
        await using FleetHost host = await FleetHost.StartAsync(redis.Server.Configuration, fleetName, "instance-0", new FakeTimeProvider(DateTimeOffset.UtcNow), file, o =>
            o.ConnectionMultiplexerFactory = () => Task.FromResult(counting.Multiplexer));
        RedisChannel changes = host.Agent.Settings.Keys.Changes;
        await Eventually.TrueAsync(() => host.Logs.GetSnapshot().Any(r => r.Id.Id == SubscribeFailed), "the agent gave up waiting for the server's answer to its subscribe");

        // The pause is over once the server answers; then more rounds run (a retry each round would subscribe again now).
        Assert.Equal("+PONG", await redis.Server.CommandAsync("PING"));
        await host.ReconcileNowAsync();
        await host.ReconcileNowAsync();

        // The server took the subscribe when the pause ended: a message reaches the agent's one handler, once.
        await WaitUntilAHandlerRunsAsync(connection, counting, changes, "probe");
        await connection.GetSubscriber().PublishAsync(changes, FleetHost.ModelName);
        await Eventually.TrueAsync(() => counting.Runs(changes, FleetHost.ModelName) > 0, "the agent's handler ran for the change message");
        await connection.GetSubscriber().PublishAsync(changes, "fence");
        await Eventually.TrueAsync(() => counting.Runs(changes, "fence") > 0, "the agent's handler ran for the message after it");

        Assert.Equal(1, counting.Runs(changes, FleetHost.ModelName));
        Assert.Equal(1, counting.Runs(changes, "fence"));
        Assert.Equal(1, counting.HandlersGiven(changes));
        Assert.Single(host.Logs.GetSnapshot(), r => r.Id.Id == SubscribeFailed);
    }

    /// <summary>Publishes <paramref name="message"/> until the server says a subscriber got it and a handler ran (bounded).</summary>
    private static async Task WaitUntilAHandlerRunsAsync(ConnectionMultiplexer connection, HandlerCountingMultiplexer counting, RedisChannel channel, string message)
    {
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        while (await connection.GetSubscriber().PublishAsync(channel, message) == 0)
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"no subscriber on {channel} after {Eventually.Timeout}");
            }

            await Task.Delay(20, CancellationToken.None);
        }

        await Eventually.TrueAsync(() => counting.Runs(channel, message) > 0, $"a handler of {channel} ran for '{message}'");
    }
}
