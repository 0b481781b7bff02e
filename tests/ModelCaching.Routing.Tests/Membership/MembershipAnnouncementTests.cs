using ModelCaching.Routing.Tests.Support;
using StackExchange.Redis;

namespace ModelCaching.Routing.Tests.Membership;

/// <summary>
/// The router reads the membership when an instance announces on the fleet's members-changed channel. Its refresh
/// interval is 10 minutes and its clock never moves, and nothing here asks it for a read: only a message (or a reconnect)
/// can make it read, so an instance seen joining or leaving was seen through the channel.
/// </summary>
public sealed class MembershipAnnouncementTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly Action<ModelCacheRoutingOptions> SlowRefresh = o => o.RefreshInterval = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task AnInstanceThatJoins_IsInTheCluster_WithoutWaitingForTheRefreshInterval()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, 200, ["a"], SlowRefresh);

        await fleet.AddBackendAsync("b");

        await fleet.Router.WaitForAnnouncedDestinationsAsync("a", "b");
        Assert.True(fleet.Router.Membership.Announcements > 0);
        string tenant = fleet.TenantOwnedBy("b");
        (int status, string body) = await fleet.Router.PredictAsync(tenant);
        Assert.Equal(200, status);
        Assert.StartsWith("b ", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnInstanceThatStopsGracefully_LeavesTheCluster_WithoutWaitingForTheRefreshInterval()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, 20, ["a", "b"], SlowRefresh);

        await fleet["b"].LeaveAsync();

        await fleet.Router.WaitForAnnouncedDestinationsAsync("a");
    }

    [Fact]
    public async Task AnInstanceThatPlacesNothing_AnnouncesItsJoiningAndLeavingToo()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, 20, ["a"], SlowRefresh);

        Backend plain = await fleet.AddBackendAsync("plain", places: false);
        await fleet.Router.WaitForAnnouncedDestinationsAsync("a", "plain");

        await plain.LeaveAsync();
        await fleet.Router.WaitForAnnouncedDestinationsAsync("a");
    }

    [Fact]
    public async Task WhenRedisIsDownAtStart_TheRouterStartsAndAnswers_AndSeesJoinsOnceRedisIsBack()
    {
        redis.Server.Kill();
        RoutedFleet? started = null;
        try
        {
            started = await RoutedFleet.StartAsync(redis.Server, 20, [], SlowRefresh);

            // It serves by its last read (none: no instance known), and says that the read and the subscription failed.
            (int status, _) = await started.Router.PredictAsync(RoutedFleet.Tenant(0));
            Assert.Equal(503, status);
            Assert.Single(started.Router.Logs.GetSnapshot(), r => r.Id.Id == 501);
            Assert.Single(started.Router.Logs.GetSnapshot(), r => r.Id.Id == 509);
        }
        finally
        {
            await redis.Server.StartAgainAsync();
        }

        await using RoutedFleet fleet = started;
        await WaitUntilTheRouterListensAsync(fleet);
        await fleet.AddBackendAsync("a");
        await fleet.Router.WaitForAnnouncedDestinationsAsync("a");
    }

    [Fact]
    public async Task AfterRedisRestarts_TheSubscriptionMadeBeforeWorksAgain()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, 20, [], SlowRefresh);
        await WaitUntilTheRouterListensAsync(fleet);

        redis.Server.Kill();
        await redis.Server.StartAgainAsync();

        await WaitUntilTheRouterListensAsync(fleet);
        await fleet.AddBackendAsync("a");
        await fleet.Router.WaitForAnnouncedDestinationsAsync("a");
    }

    [Fact]
    public async Task StoppingTheRouter_RemovesItsSubscription_FromAConnectionItDoesNotOwn()
    {
        await using ConnectionMultiplexer shared = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration);
        RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, 20, [], o =>
        {
            SlowRefresh(o);
            o.ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(shared);
        });
        await WaitUntilTheRouterListensAsync(fleet);

        await fleet.DisposeAsync();

        Assert.True(shared.IsConnected);
        Assert.Equal(0, await shared.GetSubscriber().PublishAsync(MembersChanged(fleet), "after the router stopped"));
    }

    private static RedisChannel MembersChanged(RoutedFleet fleet) => RedisChannel.Literal($"modelcaching:fleet:{fleet.FleetName}:members-changed");

    /// <summary>
    /// Publishes on the fleet's members-changed channel until Redis says a subscriber got the message and the router
    /// counted it (bounded). The router is the channel's only subscriber while the fleet has no placing instance.
    /// </summary>
    private async Task WaitUntilTheRouterListensAsync(RoutedFleet fleet)
    {
        await using ConnectionMultiplexer publisher = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration);
        RedisChannel channel = MembersChanged(fleet);
        long announcements = fleet.Router.Membership.Announcements;
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        while (await publisher.GetSubscriber().PublishAsync(channel, "probe") == 0)
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"no subscriber on {channel} after {Eventually.Timeout}");
            }

            await Task.Delay(20, CancellationToken.None);
        }

        await Eventually.TrueAsync(() => fleet.Router.Membership.Announcements > announcements, "the router counted the message");
    }
}
