using System.Collections.Concurrent;
using ModelCaching.Routing.Tests.Support;
using StackExchange.Redis;

namespace ModelCaching.Routing.Tests.Membership;

/// <summary>
/// A router whose <see cref="ModelCacheRoutingOptions.ConnectionMultiplexerFactory"/> throws while Redis is down (an
/// application's factory with <c>abortConnect=true</c>) asks it again before its next read, and subscribes to the
/// members-changed channel once it has a connection. The refresh interval is 10 minutes and the router's clock never
/// moves: after the one read the test asks for, only a message can make it read again.
/// </summary>
public sealed class ConnectionFactoryTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const int MembershipReadFailed = 501;
    private const int MembershipReadRestored = 508;
    private const int SubscribeFailed = 509;

    [Fact]
    public async Task AFactoryThatThrewWhileRedisWasDown_IsAskedAgain_AndTheRouterThenSeesJoinsThroughTheChannel()
    {
        var made = new ConcurrentQueue<ConnectionMultiplexer>();
        int calls = 0;
        string strict = $"127.0.0.1:{redis.Server.Port},abortConnect=true,connectTimeout=1000,connectRetry=1";
        async Task<IConnectionMultiplexer> ConnectAsync()
        {
            Interlocked.Increment(ref calls);
            ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(strict);
            made.Enqueue(connection);
            return connection;
        }

        try
        {
            redis.Server.Kill();
            RoutedFleet? started = null;
            try
            {
                started = await RoutedFleet.StartAsync(redis.Server, 20, [], o =>
                {
                    o.RefreshInterval = TimeSpan.FromMinutes(10);
                    o.ConnectionMultiplexerFactory = ConnectAsync;
                });
            }
            finally
            {
                if (started is null)
                {
                    await redis.Server.StartAgainAsync(); // the start failed: its own exception goes on
                }
            }

            await using RoutedFleet fleet = started; // disposed however the assertions below end
            try
            {
                Assert.Empty(made);
                Assert.Single(fleet.Router.Logs.GetSnapshot(), r => r.Id.Id == SubscribeFailed);
                Assert.Single(fleet.Router.Logs.GetSnapshot(), r => r.Id.Id == MembershipReadFailed);
            }
            finally
            {
                await redis.Server.StartAgainAsync();
            }

            int callsWhileDown = Volatile.Read(ref calls);
            Assert.True(callsWhileDown > 0);

            // One read, as an instance's 421 would ask for: the router asks the factory again and reads.
            long reads = fleet.Router.Membership.Reads;
            fleet.Router.Membership.RefreshSoon();
            await Eventually.TrueAsync(() => fleet.Router.Membership.Reads > reads, "the router read the membership once more");
            Assert.Single(fleet.Router.Logs.GetSnapshot(), r => r.Id.Id == MembershipReadRestored);
            Assert.Single(made);

            // Only the channel can tell the router that an instance joined now.
            await fleet.AddBackendAsync("a");
            await fleet.Router.WaitForAnnouncedDestinationsAsync("a");
            Assert.True(fleet.Router.Membership.Announcements > 0);
            Assert.Single(fleet.Router.Logs.GetSnapshot(), r => r.Id.Id == SubscribeFailed);
        }
        finally
        {
            while (made.TryDequeue(out ConnectionMultiplexer? connection))
            {
                await connection.DisposeAsync();
            }
        }
    }
}
