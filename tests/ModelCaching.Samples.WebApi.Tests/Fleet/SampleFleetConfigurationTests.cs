using System.Net;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Fleet;
using ModelCaching.Redis.Tests.Support;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests.Fleet;

/// <summary>
/// The sample joins a fleet only when <c>ModelCache:Fleet</c> is configured; then the fleet endpoints answer behind the
/// admin key, readiness includes the control plane, and <c>GET /</c> lists them. Without the section nothing is added.
/// </summary>
public sealed class SampleFleetConfigurationTests
{
    [Fact]
    public async Task WithoutTheFleetSection_NoFleetIsRegistered_AndFleetEndpointsAreNotThere()
    {
        await using SampleServer server = await SampleServer.StartAsync(seed: true);
        await server.WhenServingAsync(SampleServer.V1Sha256);

        Assert.Null(server.App.Services.GetService<IModelFleet>());
        using HttpResponseMessage fleet = await server.SendAsync(HttpMethod.Get, "/fleet", SampleServer.AdminKey);
        Assert.Equal(HttpStatusCode.NotFound, fleet.StatusCode);
        using HttpResponseMessage ready = await server.SendAsync(HttpMethod.Get, "/health/ready");
        Assert.DoesNotContain("modelcache-fleet", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using HttpResponseMessage index = await server.SendAsync(HttpMethod.Get, "/");
        Assert.DoesNotContain("/fleet", await index.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithTheFleetSection_TheFleetIsBoundFromIt_AndItsEndpointsNeedTheAdminKey()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        string fleetName = "config-" + Guid.NewGuid().ToString("N")[..8];
        await using SampleServer server = await SampleServer.StartAsync(
            seed: true,
            $"ModelCache:Fleet:Configuration={redis.Configuration}",
            $"ModelCache:Fleet:FleetName={fleetName}",
            "ModelCache:Fleet:InstanceId=config-test-instance");
        await server.WhenServingAsync(SampleServer.V1Sha256);

        Assert.Equal(fleetName, server.App.Services.GetRequiredService<IModelFleet>().FleetName);
        using (HttpResponseMessage anonymous = await server.SendAsync(HttpMethod.Get, "/fleet"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using (HttpResponseMessage reader = await server.SendAsync(HttpMethod.Get, "/fleet", SampleServer.ReaderKey))
        {
            Assert.Equal(HttpStatusCode.Forbidden, reader.StatusCode);
        }

        using (HttpResponseMessage admin = await server.SendAsync(HttpMethod.Get, "/fleet", SampleServer.AdminKey))
        {
            string body = await admin.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
            Assert.Contains($"\"fleetName\":\"{fleetName}\"", body, StringComparison.Ordinal);
        }

        using HttpResponseMessage ready = await server.SendAsync(HttpMethod.Get, "/health/ready");
        Assert.Contains("\"modelcache-fleet\"", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using HttpResponseMessage index = await server.SendAsync(HttpMethod.Get, "/");
        Assert.Contains("GET  /fleet", await index.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
