using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.Azure.Tests.Support;

namespace ModelCaching.Azure.Tests;

/// <summary>Template blob names (<c>tenants/{name}.zip</c>) and pinned snapshots and versions.</summary>
/// <remarks>
/// Azurite 3.35 does not implement blob versions (its README lists "Blob Versions" as not supported), so a pinned
/// <see cref="AzureBlobModelSourceOptions.VersionId"/> is tested for what does not need the service (no polling, the
/// version in the description and the request address); snapshots, which Azurite does implement, test pinning end to end.
/// </remarks>
public sealed class AzureBlobTemplateAndPinTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Template_ReadsEachModelsOwnBlob_AndNamesTheMissingOne()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("tenants/acme.zip", BinaryData.FromBytes(TestModels.TaxiFare));
        await container.UploadBlobAsync("tenants/globex.zip", BinaryData.FromBytes(TestModels.Iris));
        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<ITransformer>("tenants", t => t
            .FromAzureBlob(container.Name, "tenants/{name}.zip", blob => blob.ConnectionString = azurite.Server.ConnectionString)
            .UseMLNet());
        await using ServiceProvider provider = services.BuildServiceProvider();
        var caches = provider.GetRequiredService<IModelCacheProvider>();

        IModelCache<ITransformer> acme = caches.GetCache<ITransformer>("acme");
        IModelCache<ITransformer> globex = caches.GetCache<ITransformer>("globex");
        Assert.Equal(TestModels.TripFare, TestModels.PredictFare(await acme.GetModelAsync()), 0.001f);
        await globex.GetModelAsync();

        Assert.Equal(TestModels.TaxiFareSha256, acme.Version!.Id);
        Assert.Equal(TestModels.IrisSha256, globex.Version!.Id);
        Assert.Equal($"azure-blob://devstoreaccount1/{container.Name}/tenants/acme.zip", acme.SourceDescription);
        ModelLoadException missing = await Assert.ThrowsAsync<ModelLoadException>(() => caches.GetCache<ITransformer>("initech").GetModelAsync().AsTask());
        Assert.Contains("Model 'initech': blob 'tenants/initech.zip'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist (404 BlobNotFound)", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Template_WithoutNameInTheBlobName_ThrowsAtRegistration()
    {
        var services = new ServiceCollection();

        ArgumentException failure = Assert.Throws<ArgumentException>(() => services.AddModelCache().AddModelTemplate<ITransformer>("tenants", t => t
            .FromAzureBlob("models", "tenants/all.zip", blob => blob.ConnectionString = azurite.Server.ConnectionString)));

        Assert.Contains("has no {name}", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PinnedSnapshot_KeepsServingTheSnapshot_AfterTheBlobIsOverwritten_AndDoesNotPoll()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("taxi.zip");
        await blob.UploadAsync(BinaryData.FromBytes(TestModels.TaxiFare));
        string snapshot = (await blob.CreateSnapshotAsync()).Value.Snapshot;
        await blob.UploadAsync(BinaryData.FromBytes(TestModels.Iris), overwrite: true);
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, blob.Name, BlobModels.NewClock(), o => o.Snapshot = snapshot);
        IModelCache<ITransformer> cache = services.Taxi();

        Assert.Equal(TestModels.TripFare, TestModels.PredictFare(await cache.GetModelAsync()), 0.001f);
        Assert.Equal(TestModels.TaxiFareSha256, cache.Version!.Id);
        Assert.EndsWith($"/taxi.zip (snapshot {snapshot})", cache.SourceDescription, StringComparison.Ordinal);
        using var source = new AzureBlobModelSource(blob, new AzureBlobModelSourceOptions { Snapshot = snapshot });
        Assert.Null(source.GetChangeToken());
    }

    [Fact]
    public async Task PinnedVersion_DoesNotPoll_AndAsksForThatVersion()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("taxi.zip");
        const string version = "2026-12-06T12:00:00.0000000Z";
        var requests = new RequestLog();
        var client = new BlobServiceClient(azurite.Server.ConnectionString, BlobModels.FastOptions(requests));
        using var source = new AzureBlobModelSource(client.GetBlobContainerClient(container.Name).GetBlobClient(blob.Name), new AzureBlobModelSourceOptions { VersionId = version });

        Assert.Null(source.GetChangeToken());
        Assert.EndsWith($"/taxi.zip (version {version})", source.Description, StringComparison.Ordinal);

        // Azurite has no versions: whatever it answers, the request named the version.
        await Record.ExceptionAsync(() => source.FetchAsync(new ModelFetchContext("taxi", null, long.MaxValue), CancellationToken.None).AsTask());
        Assert.Contains(requests.Requests, r => r.StartsWith("HEAD ", StringComparison.Ordinal));
        Assert.Contains(requests.Uris, uri => Uri.UnescapeDataString(uri.Query) == $"?versionid={version}");
    }

    [Fact]
    public void Options_WithBothAVersionAndASnapshot_AreRefused()
    {
        var services = new ServiceCollection();

        ArgumentException failure = Assert.Throws<ArgumentException>(() => services.AddModelCache().AddModel<ITransformer>("taxi", m => m
            .FromAzureBlob("models", "taxi.zip", blob =>
            {
                blob.ConnectionString = azurite.Server.ConnectionString;
                blob.VersionId = "v";
                blob.Snapshot = "s";
            })));

        Assert.Equal("Model 'taxi': set VersionId or Snapshot, not both. (Parameter 'VersionId')", failure.Message);
    }

    [Fact]
    public async Task Load_OfAnEmptyBlob_IsRefused()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("taxi.zip", BinaryData.FromBytes([]));
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, "taxi.zip", BlobModels.NewClock());

        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => services.Taxi().GetModelAsync().AsTask());

        Assert.IsType<InvalidDataException>(failure.InnerException);
        Assert.Contains("is empty, not a model", failure.Message, StringComparison.Ordinal);
    }
}
