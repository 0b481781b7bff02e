using System.Collections.Concurrent;
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

    [Fact]
    public async Task HotReload_UnderConcurrentPredictions_FailsNoRequestAndServesBothVersions()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);
        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentQueue<string>();
        var fares = new ConcurrentDictionary<float, byte>();
        long requests = 0;

        async Task PredictInALoopAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                using HttpResponseMessage response = await server.Client.PostAsync("/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));
                string body = await response.Content.ReadAsStringAsync();
                Interlocked.Increment(ref requests);
                if (!response.IsSuccessStatusCode)
                {
                    failures.Enqueue($"{(int)response.StatusCode}: {body}");
                    continue;
                }

                fares.TryAdd(MathF.Round(JsonDocument.Parse(body).RootElement.GetProperty("fareAmount").GetSingle(), 2), 0);
            }
        }

        Task[] clients = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(PredictInALoopAsync))];
        string[] publishes = ["taxi-fare-v2.zip", "taxi-fare.zip", "taxi-fare-v2.zip", "taxi-fare.zip"];
        foreach (string file in publishes)
        {
            bool v1 = file == "taxi-fare.zip";
            Task<ModelVersion> serving = server.WhenServingAsync(v1 ? SampleServer.V1Sha256 : SampleServer.V2Sha256);
            server.PublishAtomically(SampleServer.BundledModel(file));
            await serving;
            JsonElement answer = await TaxiTrips.PredictAsync(server.Client);
            Assert.Equal(v1 ? TaxiTrips.KnownTripFareV1 : TaxiTrips.KnownTripFareV2, answer.GetProperty("fareAmount").GetSingle(), TaxiTrips.Tolerance);
        }

        stop.Cancel();
        await Task.WhenAll(clients).WaitAsync(SampleServer.SignalTimeout);

        Assert.Empty(failures);
        Assert.True(requests > publishes.Length, $"only {requests} predictions ran");
        Assert.Equal(1 + publishes.Length, server.Cache.Version?.Generation);
        // Every answer came from v1 or v2: never a half-swapped or disposed model.
        Assert.Subset(new HashSet<float> { 15.57f, 17.13f }, fares.Keys.ToHashSet());
    }
}
