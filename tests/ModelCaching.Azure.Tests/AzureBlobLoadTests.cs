using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.ML;
using ModelCaching.Azure.Tests.Support;

namespace ModelCaching.Azure.Tests;

/// <summary>Loading, change detection by ETag and limits, against a real Azurite.</summary>
public sealed class AzureBlobLoadTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Load_FromAConnectionString_ServesTheRealTaxiFareModel()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("models/taxi-fare.zip", BinaryData.FromBytes(TestModels.TaxiFare));
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, "models/taxi-fare.zip", BlobModels.NewClock());

        IModelCache<ITransformer> cache = services.Taxi();
        ITransformer model = await cache.GetModelAsync();

        Assert.Equal(TestModels.TripFare, TestModels.PredictFare(model), 0.001f);
        Assert.Equal(TestModels.TaxiFareSha256, cache.Version!.Id);
        Assert.StartsWith("\"", cache.Version.ETag, StringComparison.Ordinal);
        Assert.Equal($"azure-blob://devstoreaccount1/{container.Name}/models/taxi-fare.zip", cache.SourceDescription);
    }

    [Fact]
    public async Task Poll_AfterAnUpload_SwapsToTheNewBlob()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("models/taxi-fare.zip");
        await blob.UploadAsync(BinaryData.FromBytes(TestModels.Iris));
        FakeTimeProvider clock = BlobModels.NewClock();
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, blob.Name, clock);
        IModelCache<ITransformer> cache = services.Taxi();
        await cache.GetModelAsync();
        Assert.Equal(TestModels.IrisSha256, cache.Version!.Id);

        await blob.UploadAsync(BinaryData.FromBytes(TestModels.TaxiFare), overwrite: true);
        Task<ModelReloadedEventArgs> reloaded = Eventually.NextReload(cache);
        clock.Advance(BlobModels.PollingInterval);
        await reloaded;

        Assert.Equal(TestModels.TaxiFareSha256, cache.Version!.Id);
        Assert.Equal(2, cache.Version.Generation);
        Assert.Equal(TestModels.TripFare, TestModels.PredictFare(cache.GetModel()), 0.001f);
    }

    [Fact]
    public async Task Poll_OnAnUnchangedBlob_IsOneBodilessConditionalRequest_CountedAsUnchanged()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("taxi.zip", BinaryData.FromBytes(TestModels.TaxiFare));
        var requests = new RequestLog();
        FakeTimeProvider clock = BlobModels.NewClock();
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, "taxi.zip", clock, o => o.ClientOptions = BlobModels.FastOptions(requests));
        IModelCache<ITransformer> cache = services.Taxi();
        await cache.GetModelAsync();
        Assert.Equal(1, requests.Count("GET"));

        const int polls = 5;
        for (int poll = 1; poll <= polls; poll++)
        {
            clock.Advance(BlobModels.PollingInterval);
            await Eventually.TrueAsync(() => cache.GetHistory().Count(r => r.Outcome == ModelLoadOutcome.Unchanged) == poll, $"unchanged poll {poll}");
        }

        Assert.Equal(polls, requests.Requests.Count(r => r.StartsWith("HEAD ", StringComparison.Ordinal) && r.EndsWith(" 304", StringComparison.Ordinal)));
        Assert.Equal(1, requests.Count("GET"));
        Assert.Equal(1, cache.GetStatistics().Loads);
        Assert.Equal(1, cache.Version!.Generation);
    }

    [Fact]
    public async Task UnchangedPolls_OnTheSource_CountsEach304()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("taxi.zip");
        await blob.UploadAsync(BinaryData.FromBytes(TestModels.TaxiFare));
        using var source = new AzureBlobModelSource(blob);

        ModelArtifact first = (await source.FetchAsync(new ModelFetchContext("taxi", null, long.MaxValue), CancellationToken.None))!;
        var serving = new ModelVersion(first.ContentHash!, 1, source.Description, DateTimeOffset.UnixEpoch, first.Length, first.ETag);
        for (int i = 0; i < 3; i++)
        {
            Assert.Null(await source.FetchAsync(new ModelFetchContext("taxi", serving, long.MaxValue), CancellationToken.None));
        }

        Assert.Equal(3, source.UnchangedPolls);
        Assert.Equal(TestModels.TaxiFareSha256, first.ContentHash);
    }

    [Fact]
    public async Task Load_OfABlobLargerThanTheLimit_IsRefusedFromItsProperties_BeforeAnyDownload()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("taxi.zip", BinaryData.FromBytes(TestModels.TaxiFare));
        var requests = new RequestLog();
        await using ServiceProvider services = BlobModels.Build(
            azurite.Server, container, "taxi.zip", BlobModels.NewClock(), o => o.ClientOptions = BlobModels.FastOptions(requests), m => m.Configure(o => o.MaxArtifactBytes = 4096));

        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => services.Taxi().GetModelAsync().AsTask());

        InvalidDataException tooLarge = Assert.IsType<InvalidDataException>(failure.InnerException);
        Assert.Contains("larger than the limit of 4,096 bytes", tooLarge.Message, StringComparison.Ordinal);
        Assert.Contains($"at least {TestModels.TaxiFare.Length:N0} bytes", tooLarge.Message, StringComparison.Ordinal);
        Assert.Contains("'taxi'", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, requests.Count("GET"));
        Assert.True(requests.Count("HEAD") >= 1);
    }

    [Fact]
    public async Task Load_OfABlobWhoseContentMd5IsWrong_FailsNamingTheBlob_AndKeepsServing()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("taxi.zip");
        await blob.UploadAsync(BinaryData.FromBytes(TestModels.TaxiFare));
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, blob.Name, BlobModels.NewClock());
        IModelCache<ITransformer> cache = services.Taxi();
        await cache.GetModelAsync();
        Assert.NotNull((await blob.GetPropertiesAsync()).Value.ContentHash); // Azurite stores the MD5 of a single-shot upload

        // New bytes whose stored Content-MD5 is that of other bytes (a corrupted blob, or a wrong property).
        byte[] variant = TestModels.TaxiFareVariant("v2");
        await blob.UploadAsync(BinaryData.FromBytes(variant), overwrite: true);
        await blob.SetHttpHeadersAsync(new BlobHttpHeaders { ContentHash = MD5.HashData(TestModels.Iris) });

        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.Contains("does not match its Content-MD5", failure.Message, StringComparison.Ordinal);
        Assert.Contains("blob 'taxi.zip'", failure.Message, StringComparison.Ordinal);
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.Equal(TestModels.TaxiFareSha256, cache.Version!.Id);
    }

    [Fact]
    public async Task Load_OfABlobWithAGoodContentMd5_Loads()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("taxi.zip");
        await blob.UploadAsync(BinaryData.FromBytes(TestModels.TaxiFare), new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentHash = MD5.HashData(TestModels.TaxiFare) } });
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, blob.Name, BlobModels.NewClock());

        Assert.Equal(TestModels.TripFare, TestModels.PredictFare(await services.Taxi().GetModelAsync()), 0.001f);
    }

    [Fact]
    public async Task Download_ThatOutlastsTheLoadTimeout_IsCancelled_AndTheLoadFailsWithATimeout()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("taxi.zip", BinaryData.FromBytes(TestModels.TaxiFare));
        var pause = new PauseAfterHeaders();
        pause.Arm();
        FakeTimeProvider clock = BlobModels.NewClock();
        await using ServiceProvider services = BlobModels.Build(
            azurite.Server, container, "taxi.zip", clock, o => o.ClientOptions = BlobModels.FastOptions(pause), m => m.Configure(o => o.LoadTimeout = TimeSpan.FromSeconds(30)));

        Task<ITransformer> load = services.Taxi().GetModelAsync().AsTask();
        await pause.Paused.WaitAsync(Eventually.Timeout);
        clock.Advance(TimeSpan.FromSeconds(30));

        await pause.Cancelled.WaitAsync(Eventually.Timeout);
        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => load.WaitAsync(Eventually.Timeout));
        Assert.True(failure.Message.EndsWith("the load timed out after 00:00:30 while fetching from the source", StringComparison.Ordinal), failure.Message);
    }

    [Fact]
    public async Task Download_HeldAfterItsHeaders_IsCancelledByTheLoadsToken()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("taxi.zip", BinaryData.FromBytes(TestModels.TaxiFare));
        var pause = new PauseAfterHeaders();
        pause.Arm();
        var service = new BlobServiceClient(azurite.Server.ConnectionString, BlobModels.FastOptions(pause));
        using var source = new AzureBlobModelSource(service.GetBlobContainerClient(container.Name).GetBlobClient("taxi.zip"));
        using var loadTimeout = new CancellationTokenSource();

        ValueTask<ModelArtifact?> fetch = source.FetchAsync(new ModelFetchContext("taxi", null, long.MaxValue), loadTimeout.Token);
        await pause.Paused.WaitAsync(Eventually.Timeout);
        await loadTimeout.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch.AsTask().WaitAsync(Eventually.Timeout));
    }
}
