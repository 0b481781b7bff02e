using System.Net;
using System.Text.Json;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

public sealed class HotReloadTests
{
    [Fact]
    public async Task HotReload_WhenANewFileIsRenamedOverTheModel_ModelsAndPredictionsChangeWithoutARestart()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);
        Task<ModelVersion> v2 = server.WhenServingAsync(SampleServer.V2Sha256);

        server.PublishAtomically(SampleServer.BundledModel("taxi-fare-v2.zip"));
        ModelVersion serving = await v2;

        Assert.Equal(2, serving.Generation);
        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/models/taxi-fare", SampleServer.ReaderKey);
        JsonElement status = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal(SampleServer.V2Sha256, status.GetProperty("version").GetProperty("id").GetString());
        Assert.Equal("SourceChanged", status.GetProperty("history")[0].GetProperty("reason").GetString());
        JsonElement answer = await TaxiTrips.PredictAsync(server.Client);
        Assert.Equal(TaxiTrips.KnownTripFareV2, answer.GetProperty("fareAmount").GetSingle(), TaxiTrips.Tolerance);
        Assert.Equal(SampleServer.V2Sha256, answer.GetProperty("modelVersion").GetString());
    }

    [Fact]
    public async Task Publish_Endpoint_WritesTheVariantAtomicallyAndTheWatcherReloadsIt()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);
        Task<ModelVersion> v2 = server.WhenServingAsync(SampleServer.V2Sha256);

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Post, "/admin/publish/v2", SampleServer.AdminKey);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("/models/taxi-fare", response.Headers.Location?.OriginalString);
        JsonElement published = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal(SampleServer.V2Sha256, published.GetProperty("sha256").GetString());
        Assert.Equal(server.ModelPath, published.GetProperty("path").GetString());
        await v2;
        Assert.Empty(Directory.GetFiles(server.ModelDirectory, "*.tmp"));
        JsonElement answer = await TaxiTrips.PredictAsync(server.Client);
        Assert.Equal(TaxiTrips.KnownTripFareV2, answer.GetProperty("fareAmount").GetSingle(), TaxiTrips.Tolerance);
    }
}
