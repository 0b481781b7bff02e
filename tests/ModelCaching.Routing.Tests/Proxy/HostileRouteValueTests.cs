using ModelCaching.Routing.Tests.Support;

namespace ModelCaching.Routing.Tests.Proxy;

/// <summary>Route values that make no model name: the router answers 400 or 404 and keeps serving.</summary>
public sealed class HostileRouteValueTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly string[] s_hostileIds =
    [
        new string('a', 200),         // longer than a model name may be
        new string('a', 70_000 / 10), // a long path, still under Kestrel's request-line limit
        "%C3%BC-tenant",              // unicode
        "%F0%9F%98%80",               // an emoji
        "..",
        "%2E%2E",
        "a%2Fb",                      // an encoded slash stays in the value
        "..%2F..%2Fetc%2Fpasswd",
        "a%5Cb",                      // backslash
        "a%20b",
        "%00",
        "a%0Ab",                      // a line feed into a log line
        "%20",                        // a lone space
        "a%3Fb%23c",                  // query and fragment characters
    ];

    [Fact]
    public async Task HostileRouteValues_Get400Or404_NeverReachAnInstance_AndTheRouterKeepsServing()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 5, "a", "b");

        foreach (string id in s_hostileIds)
        {
            using HttpResponseMessage response = await fleet.Router.Client.GetAsync($"/tenants/{id}/predict");
            Assert.True((int)response.StatusCode is 400 or 404, $"'{id}' got {(int)response.StatusCode}");
        }

        Assert.Equal(0, fleet.Backends.Sum(b => b.Requests));
        Assert.Equal(200, (await fleet.Router.PredictAsync(RoutedFleet.Tenant(1))).Status);
    }

    [Fact]
    public async Task AnInvalidModelName_GetsAProblemThatSaysWhy()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 1, "a");

        using HttpResponseMessage response = await fleet.Router.Client.GetAsync("/tenants/%C3%BC/predict");

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("makes no valid model name", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
