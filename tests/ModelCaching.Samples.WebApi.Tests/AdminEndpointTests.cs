using System.Net;
using System.Text.Json;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

public sealed class AdminEndpointTests
{
    [Fact]
    public async Task Reload_WithTheAdminKey_LoadsTheReplacedFileAndAnswersTheNewVersion()
    {
        // Watching is off here, so only the explicit reload can pick up the new file.
        await using SampleServer server = await SampleServer.StartAsync(seed: true, "Sample:WatchModelFile=false");
        await server.WhenServingAsync(SampleServer.V1Sha256);
        server.PublishAtomically(SampleServer.BundledModel("taxi-fare-v2.zip"));

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Post, "/models/taxi-fare/reload", SampleServer.AdminKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement status = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal(SampleServer.V2Sha256, status.GetProperty("version").GetProperty("id").GetString());
        Assert.Equal(2, status.GetProperty("version").GetProperty("generation").GetInt64());
        Assert.Equal("Explicit", status.GetProperty("history")[0].GetProperty("reason").GetString());
        JsonElement answer = await TaxiTrips.PredictAsync(server.Client);
        Assert.Equal(TaxiTrips.KnownTripFareV2, answer.GetProperty("fareAmount").GetSingle(), TaxiTrips.Tolerance);
    }

    [Fact]
    public async Task Reload_OfACorruptFile_Returns502AndKeepsServingTheLastGoodVersion()
    {
        await using SampleServer server = await SampleServer.StartAsync(seed: true, "Sample:WatchModelFile=false");
        await server.WhenServingAsync(SampleServer.V1Sha256);
        string corrupt = Path.Combine(server.ModelDirectory, "corrupt.bin");
        await File.WriteAllTextAsync(corrupt, "this is not an ML.NET model");
        server.PublishAtomically(corrupt);

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Post, "/models/taxi-fare/reload", SampleServer.AdminKey);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal(SampleServer.V1Sha256, problem.GetProperty("servingVersion").GetString());
        Assert.Equal("Degraded", problem.GetProperty("state").GetString());
        JsonElement answer = await TaxiTrips.PredictAsync(server.Client);
        Assert.Equal(TaxiTrips.KnownTripFareV1, answer.GetProperty("fareAmount").GetSingle(), TaxiTrips.Tolerance);
        Assert.Equal(SampleServer.V1Sha256, answer.GetProperty("modelVersion").GetString());
    }

    [Fact]
    public async Task Rollback_AfterAHotReload_ServesThePreviousVersionAgain()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);
        Task<ModelVersion> v2 = server.WhenServingAsync(SampleServer.V2Sha256);
        server.PublishAtomically(SampleServer.BundledModel("taxi-fare-v2.zip"));
        await v2;

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Post, "/models/taxi-fare/rollback", SampleServer.AdminKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement status = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal(SampleServer.V1Sha256, status.GetProperty("version").GetProperty("id").GetString());
        Assert.Equal("Rollback", status.GetProperty("history")[0].GetProperty("reason").GetString());
        JsonElement answer = await TaxiTrips.PredictAsync(server.Client);
        Assert.Equal(TaxiTrips.KnownTripFareV1, answer.GetProperty("fareAmount").GetSingle(), TaxiTrips.Tolerance);
    }

    [Fact]
    public async Task Rollback_WithNoPreviousVersion_Returns409()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Post, "/models/taxi-fare/rollback", SampleServer.AdminKey);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(SampleServer.V1Sha256, server.Cache.Version?.Id);
    }

    [Theory]
    [InlineData("/models/taxi-fare/reload")]
    [InlineData("/models/taxi-fare/rollback")]
    [InlineData("/admin/publish/v2")]
    public async Task AdminCall_WithoutAKey_Returns401AndChangesNothing(string path)
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Post, path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(1, server.Cache.Version?.Generation);
        Assert.Single(server.Cache.GetHistory());
    }

    [Fact]
    public async Task AdminCall_WithAWrongKey_Returns401()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Post, "/models/taxi-fare/reload", "not-a-configured-key");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AdminCall_WithTheReaderKey_Returns403()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Post, "/models/taxi-fare/reload", SampleServer.ReaderKey);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Single(server.Cache.GetHistory());
    }

    [Fact]
    public async Task AdminCall_WhenNoAdminKeyIsConfigured_Returns401EvenWithAnEmptyKey()
    {
        await using SampleServer server = await SampleServer.StartAsync(seed: true, "Admin:AdminKey=");

        using HttpRequestMessage request = SampleServer.Request(HttpMethod.Post, "/models/taxi-fare/reload");
        request.Headers.TryAddWithoutValidation("X-Api-Key", "");
        using HttpResponseMessage response = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Publish_OfAnUnknownVariant_Returns404ListingTheKnownOnes()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Post, "/admin/publish/v9", SampleServer.AdminKey);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("known variants: v1, v2", (await TaxiTrips.ReadJsonAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
