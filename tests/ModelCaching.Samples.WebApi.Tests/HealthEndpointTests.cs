using System.Net;
using System.Text.Json;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Readiness_IsUnhealthyUntilAModelIsPublished_ThenHealthy()
    {
        await using SampleServer server = await SampleServer.StartAsync(seed: false);

        using HttpResponseMessage before = await server.SendAsync(HttpMethod.Get, "/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        Assert.Equal("Unhealthy", (await TaxiTrips.ReadJsonAsync(before)).GetProperty("status").GetString());

        Task<ModelVersion> v1 = server.WhenServingAsync(SampleServer.V1Sha256);
        using HttpResponseMessage published = await server.SendAsync(HttpMethod.Post, "/admin/publish/v1", SampleServer.AdminKey);
        Assert.Equal(HttpStatusCode.Accepted, published.StatusCode);
        await v1;

        using HttpResponseMessage after = await server.SendAsync(HttpMethod.Get, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        JsonElement check = (await TaxiTrips.ReadJsonAsync(after)).GetProperty("checks").GetProperty("modelcache:taxi-fare");
        Assert.Equal("Healthy", check.GetProperty("status").GetString());
        Assert.Equal(SampleServer.V1Sha256, check.GetProperty("data").GetProperty("taxi-fare").GetProperty("version").GetString());
    }

    [Fact]
    public async Task Liveness_IsHealthyEvenWhenNoModelIsServing()
    {
        await using SampleServer server = await SampleServer.StartAsync(seed: false);

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/health/live");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement report = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal("Healthy", report.GetProperty("status").GetString());
        Assert.Equal("process", Assert.Single(report.GetProperty("checks").EnumerateObject()).Name);
    }
}
