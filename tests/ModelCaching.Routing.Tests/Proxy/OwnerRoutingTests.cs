using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using ModelCaching.Routing.Tests.Support;

namespace ModelCaching.Routing.Tests.Proxy;

/// <summary>YARP with the routing, three instances that joined the fleet for real, the real redis-server.</summary>
public sealed class OwnerRoutingTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Requests_GoOnlyToTheOwnersOfTheirModel_AndAnswerFromTheTenantsOwnModel()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 40, "a", "b", "c");

        for (int i = 0; i < 40; i++)
        {
            string tenant = RoutedFleet.Tenant(i);
            (int status, string body) = await fleet.Router.PredictAsync(tenant);

            Assert.Equal(200, status);
            string[] parts = body.Split(' ', 2);
            Assert.Contains(parts[0], fleet.Owners(tenant));
            Assert.Equal($"model of tenant-{tenant}", parts[1]);
        }

        // Each model loaded only where the router sent it: on owners only.
        foreach (Backend backend in fleet.Backends)
        {
            foreach (string name in backend.Models.Names.Where(n => n.StartsWith("tenant-", StringComparison.Ordinal)))
            {
                Assert.Contains(backend.InstanceId, fleet.Owners(name["tenant-".Length..]));
            }
        }

        Assert.Equal(40, fleet.Router.Requests.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(["a", "b", "c"], fleet.Router.Requests.GetMeasurementSnapshot().Select(m => (string)m.Tags["modelcache.instance"]!).Distinct().Order());
        Assert.Empty(fleet.Router.Retries.GetMeasurementSnapshot());
        using var instances = new MetricCollector<int>(fleet.Router.Services.GetRequiredService<IMeterFactory>(), ModelCacheDiagnostics.MeterName, "modelcache.routing.instances");
        instances.RecordObservableInstruments();
        Assert.Equal(3, instances.LastMeasurement?.Value);
    }

    [Fact]
    public async Task ARequest_GoesToTheOwnerThatHasTheModelLoaded_BeforeTheFirstOwnerByPlacement()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 200, "a", "b", "c");
        string tenant = fleet.TenantOwnedBy("a", "b");

        // The second owner has it loaded (a request straight to it); its membership entry says so; the router reads it.
        await fleet["b"].LoadAsync("tenant-" + tenant);
        await Eventually.TrueAsync(
            () =>
            {
                fleet.Router.Membership.RefreshSoon();
                return fleet.Router.Membership.Table.IsLoaded("b", "tenant-" + tenant);
            },
            "the router read b's entry with the model loaded");

        for (int i = 0; i < 10; i++)
        {
            (int status, string body) = await fleet.Router.PredictAsync(tenant);
            Assert.Equal(200, status);
            Assert.StartsWith("b ", body, StringComparison.Ordinal);
        }

        Assert.Equal(0, fleet["a"].Requests);
    }

    [Fact]
    public async Task AnInstanceThatJoins_BecomesADestination_WithinOneRefreshInterval_AndGetsTheTenantsItOwns()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 200, "a", "b");

        await fleet.AddBackendAsync("c");
        await fleet.Router.RefreshAsync(); // one interval on the router's clock, and nothing else asks for a read

        await Eventually.TrueAsync(() => fleet.Router.Destinations.SequenceEqual(["a", "b", "c"]), "YARP's cluster has c after one read");
        string tenant = fleet.TenantOwnedBy("c");
        (int status, string body) = await fleet.Router.PredictAsync(tenant);
        Assert.Equal(200, status);
        Assert.StartsWith("c ", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnInstanceThatLeaves_IsNoLongerADestination_AfterTheNextRead()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 200, "a", "b", "c");
        string tenant = fleet.TenantOwnedBy("c");

        await fleet["c"].DisposeAsync(); // a graceful stop removes its membership entry
        await fleet.Router.RefreshAsync();

        await Eventually.TrueAsync(() => fleet.Router.Destinations.SequenceEqual(["a", "b"]), "YARP's cluster lost c after one read");
        (int status, string body) = await fleet.Router.PredictAsync(tenant);
        Assert.Equal(200, status);
        Assert.Contains(body.Split(' ')[0], fleet.Owners(tenant, ["a", "b"]));
        Assert.Empty(fleet.Router.Retries.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task AFleetWithNoInstance_Answers503_WithAProblemNamingTheModel()
    {
        await using Router router = await Router.StartAsync(redis.Server.Configuration, "routing-empty-" + Guid.NewGuid().ToString("N")[..8]);

        using HttpResponseMessage response = await router.Client.GetAsync("/tenants/acme/predict");

        Assert.Equal(503, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("2", response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using JsonDocument problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("tenant-acme", problem.RootElement.GetProperty("model").GetString());
        Assert.Contains("tenant-acme", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, router.NoOwner.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Contains(router.Logs.GetSnapshot(), r => r.Id.Id == 503);
    }
}
