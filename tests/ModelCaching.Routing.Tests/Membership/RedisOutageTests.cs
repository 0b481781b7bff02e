using ModelCaching.Routing.Tests.Support;

namespace ModelCaching.Routing.Tests.Membership;

/// <summary>The fleet's Redis killed (SIGKILL) under the router: it routes by the last membership read, and says so.</summary>
public sealed class RedisOutageTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task WhileRedisIsDown_RequestsAreRoutedByTheLastMembershipRead_AndTheRouterLogsTheLossAndTheReturn()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 20, "a", "b", "c");

        redis.Server.Kill();
        try
        {
            await fleet.Router.RefreshAsync();
            await Eventually.TrueAsync(() => fleet.Router.Logs.GetSnapshot().Any(r => r.Id.Id == 501), "the router logged the failed read");

            Assert.Equal(["a", "b", "c"], fleet.Router.Destinations);
            for (int i = 0; i < 20; i++)
            {
                string tenant = RoutedFleet.Tenant(i);
                (int status, string body) = await fleet.Router.PredictAsync(tenant);
                Assert.Equal(200, status);
                Assert.Contains(body.Split(' ')[0], fleet.Owners(tenant));
            }

            // One warning for the outage, not one per read.
            await fleet.Router.RefreshAsync();
            Assert.Single(fleet.Router.Logs.GetSnapshot(), r => r.Id.Id == 501);
        }
        finally
        {
            await redis.Server.StartAgainAsync();
        }

        await Eventually.TrueAsync(
            () =>
            {
                fleet.Router.Membership.RefreshSoon();
                return fleet.Router.Logs.GetSnapshot().Any(r => r.Id.Id == 508);
            },
            "the router read the membership again after Redis came back");
    }
}
