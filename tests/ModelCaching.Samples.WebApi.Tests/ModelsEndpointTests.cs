using System.Net;
using System.Text.Json;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

public sealed class ModelsEndpointTests
{
    [Fact]
    public async Task Models_WithTheReaderKey_ListsNameStateVersionLoadedAtAndCounters()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);

        // The first prediction of a generation also pins the model for its engines (one more hit); count after it.
        await TaxiTrips.PredictAsync(server.Client);
        long hitsBefore = server.Cache.GetStatistics().Hits;
        await TaxiTrips.PredictAsync(server.Client);
        await TaxiTrips.PredictAsync(server.Client);

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/models", SampleServer.ReaderKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement model = Assert.Single((await TaxiTrips.ReadJsonAsync(response)).EnumerateArray());
        Assert.Equal("taxi-fare", model.GetProperty("name").GetString());
        Assert.Equal("Ready", model.GetProperty("state").GetString());
        JsonElement version = model.GetProperty("version");
        Assert.Equal(SampleServer.V1Sha256, version.GetProperty("id").GetString());
        Assert.Equal(1, version.GetProperty("generation").GetInt64());
        Assert.Equal(server.Cache.Version!.LoadedAt, version.GetProperty("loadedAt").GetDateTimeOffset());
        Assert.Equal(hitsBefore + 2, model.GetProperty("hits").GetInt64());
        Assert.Equal(0, model.GetProperty("misses").GetInt64());
        Assert.Equal("Startup", model.GetProperty("history")[0].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Models_WithoutAKey_Returns401WhenStatusIsNotAnonymous()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/models");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("ApiKey header=\"X-Api-Key\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task Models_WithoutAKey_Returns200WhenStatusIsAnonymous()
    {
        await using SampleServer server = await SampleServer.StartAsync(seed: true, "Admin:AllowAnonymousStatus=true");

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("taxi-fare", Assert.Single((await TaxiTrips.ReadJsonAsync(response)).EnumerateArray()).GetProperty("name").GetString());
    }
}
