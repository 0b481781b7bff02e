using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Sas;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.Azure.Tests.Support;
using Xunit.Abstractions;

namespace ModelCaching.Azure.Tests;

/// <summary>Each failure names the model, the blob and the cause; a failure after a good load keeps the good model serving.</summary>
public sealed class AzureBlobErrorTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Load_FromAContainerThatDoesNotExist_SaysSo()
    {
        BlobContainerClient missing = azurite.Client.GetBlobContainerClient("no-such-container");
        await using ServiceProvider services = BlobModels.Build(azurite.Server, missing, "taxi.zip", BlobModels.NewClock());

        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => services.Taxi().GetModelAsync().AsTask());

        AzureBlobModelSourceException cause = Assert.IsType<AzureBlobModelSourceException>(failure.InnerException);
        Assert.Equal(404, cause.Status);
        Assert.Equal("ContainerNotFound", cause.ErrorCode);
        Assert.Equal("Model 'taxi': the container of blob 'taxi.zip' in container 'no-such-container' of storage account 'devstoreaccount1' does not exist (404 ContainerNotFound).", cause.Message);
        Assert.Contains("Model 'taxi' could not be loaded from azure-blob://devstoreaccount1/no-such-container/taxi.zip", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_OfABlobThatDoesNotExist_SaysSo()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, "models/missing.zip", BlobModels.NewClock());

        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => services.Taxi().GetModelAsync().AsTask());

        AzureBlobModelSourceException cause = Assert.IsType<AzureBlobModelSourceException>(failure.InnerException);
        Assert.Equal(404, cause.Status);
        Assert.Equal($"Model 'taxi': blob 'models/missing.zip' in container '{container.Name}' of storage account 'devstoreaccount1' does not exist (404 BlobNotFound).", cause.Message);
    }

    [Fact]
    public async Task Reload_AfterTheBlobWasDeleted_KeepsServingTheLastGoodModel_AndTheStatusSaysItWasDeleted()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("taxi.zip");
        await blob.UploadAsync(BinaryData.FromBytes(TestModels.TaxiFare));
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, blob.Name, BlobModels.NewClock());
        IModelCache<ITransformer> cache = services.Taxi();
        await cache.GetModelAsync();
        string servedETag = cache.Version!.ETag!;

        await blob.DeleteAsync();
        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.Contains($"it was deleted after version {servedETag} served. The last good model keeps serving", failure.Message, StringComparison.Ordinal);
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.Contains("deleted after version", cache.GetStatistics().LastError, StringComparison.Ordinal);
        Assert.Equal(TestModels.TaxiFareSha256, cache.Version!.Id);
        Assert.Equal(TestModels.TripFare, TestModels.PredictFare(cache.GetModel()), 0.001f);
    }

    [Fact]
    public async Task Load_WithARegisteredClientWhoseSasCannotRead_Is403_NamingTheModelAndWhatToCheck()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("taxi.zip", BinaryData.FromBytes(TestModels.TaxiFare));
        Uri listOnly = container.GenerateSasUri(BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(1));

        ModelLoadException failure = await LoadThroughRegisteredClientAsync(container, listOnly);
        output.WriteLine(failure.Message);

        AzureBlobModelSourceException cause = Assert.IsType<AzureBlobModelSourceException>(failure.InnerException);
        Assert.Equal(403, cause.Status);
        Assert.StartsWith($"Model 'taxi': access to blob 'taxi.zip' in container '{container.Name}' of storage account 'devstoreaccount1' was denied (403", cause.Message, StringComparison.Ordinal);
        Assert.Contains("lack read (r) permission", cause.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_WithAnExpiredSas_Is403()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("taxi.zip", BinaryData.FromBytes(TestModels.TaxiFare));
        Uri expired = container.GenerateSasUri(BlobContainerSasPermissions.Read, DateTimeOffset.UtcNow.AddHours(-1));

        ModelLoadException failure = await LoadThroughRegisteredClientAsync(container, expired);
        output.WriteLine(failure.Message);

        AzureBlobModelSourceException cause = Assert.IsType<AzureBlobModelSourceException>(failure.InnerException);
        Assert.Equal(403, cause.Status);
        Assert.Contains("A SAS may have expired", cause.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_WithACredentialThatCannotSignIn_SaysWhichAndWhatToDo()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModel<ITransformer>("taxi", model => model.FromAzureBlob("models", "taxi.zip", blob =>
        {
            blob.ServiceUri = new Uri("https://myaccount.blob.core.windows.net"); // the credential fails before any request leaves
            blob.Credential = new NoCredential();
            blob.ClientOptions = BlobModels.FastOptions();
        }).UseMLNet());
        await using ServiceProvider provider = services.BuildServiceProvider();

        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => provider.Taxi().GetModelAsync().AsTask());

        AzureBlobModelSourceException cause = Assert.IsType<AzureBlobModelSourceException>(failure.InnerException);
        Assert.StartsWith("Model 'taxi': no credential could sign in to read blob 'taxi.zip' in container 'models' of storage account 'myaccount'", cause.Message, StringComparison.Ordinal);
        Assert.Contains("managed identity", cause.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_FromAThrottlingAccount_IsRetriedByTheSdkPolicy_AndSucceeds()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("taxi.zip", BinaryData.FromBytes(TestModels.TaxiFare));
        await using var proxy = new ThrottlingProxy(azurite.Server.Port, throttle: 2);
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, "taxi.zip", BlobModels.NewClock(), o =>
        {
            o.ConnectionString = proxy.ConnectionString;
            o.ClientOptions = BlobModels.FastOptions(); // two retries
        });

        Assert.Equal(TestModels.TripFare, TestModels.PredictFare(await services.Taxi().GetModelAsync()), 0.001f);
        Assert.Equal(2, proxy.Throttled);
    }

    [Fact]
    public async Task Load_FromAnAccountThrottlingPastTheRetries_SaysItIsThrottled()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        await container.UploadBlobAsync("taxi.zip", BinaryData.FromBytes(TestModels.TaxiFare));
        await using var proxy = new ThrottlingProxy(azurite.Server.Port, throttle: int.MaxValue);
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, "taxi.zip", BlobModels.NewClock(), o =>
        {
            o.ConnectionString = proxy.ConnectionString;
            o.ClientOptions = BlobModels.FastOptions();
        });

        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => services.Taxi().GetModelAsync().AsTask());

        AzureBlobModelSourceException cause = Assert.IsType<AzureBlobModelSourceException>(failure.InnerException);
        Assert.Equal(503, cause.Status);
        Assert.Equal($"Model 'taxi': the storage account is throttling or busy (503 ServerBusy) and blob 'taxi.zip' in container '{container.Name}' of storage account 'devstoreaccount1' could not be read within the SDK's retries. The next attempt retries with backoff.", cause.Message);
        Assert.Equal(3, proxy.Throttled); // the first try and the SDK's two retries
    }

    [Fact]
    public async Task Load_WhenTheServiceCannotBeReached_SaysSoAfterTheSdksRetries()
    {
        int closedPort;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            closedPort = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }

        var services = new ServiceCollection();
        services.AddModelCache().AddModel<ITransformer>("taxi", model => model.FromAzureBlob("models", "taxi.zip", blob =>
        {
            blob.ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.AccountName};AccountKey={AzuriteServer.AccountKey};BlobEndpoint=http://127.0.0.1:{closedPort}/{AzuriteServer.AccountName};";
            blob.ClientOptions = BlobModels.FastOptions();
        }).UseMLNet());
        await using ServiceProvider provider = services.BuildServiceProvider();

        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => provider.Taxi().GetModelAsync().AsTask());

        AzureBlobModelSourceException cause = Assert.IsType<AzureBlobModelSourceException>(failure.InnerException);
        Assert.Equal(0, cause.Status);
        Assert.StartsWith("Model 'taxi': blob 'taxi.zip' in container 'models' of storage account 'devstoreaccount1' could not be read after 3 tries (the SDK's retry policy): ", cause.Message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", cause.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteServer.AccountKey, failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void FromAzureBlob_WithAnInvalidContainerName_ThrowsAtRegistration_NamingTheModel()
    {
        var services = new ServiceCollection();

        ArgumentException failure = Assert.Throws<ArgumentException>(() => services.AddModelCache()
            .AddModel<ITransformer>("taxi", model => model.FromAzureBlob("Models_2026", "taxi.zip", blob => blob.ConnectionString = azurite.Server.ConnectionString)));

        Assert.StartsWith("Model 'taxi': 'Models_2026' is not a valid container name", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromAzureBlob_WithAMalformedConnectionString_ThrowsAtRegistration_WithoutRepeatingIt()
    {
        var services = new ServiceCollection();

        ArgumentException failure = Assert.Throws<ArgumentException>(() => services.AddModelCache()
            .AddModel<ITransformer>("taxi", model => model.FromAzureBlob("models", "taxi.zip", blob => blob.ConnectionString = "AccountKey=c2VjcmV0;no-equals-sign")));

        Assert.StartsWith("Model 'taxi': ConnectionString is not a storage connection string", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FromAzureBlob_WithoutAnyClient_SaysHowToGiveOne()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModel<ITransformer>("taxi", model => model.FromAzureBlob("models", "taxi.zip").UseMLNet());
        await using ServiceProvider provider = services.BuildServiceProvider();

        Exception failure = await Record.ExceptionAsync(() => provider.Taxi().GetModelAsync().AsTask());

        Assert.IsType<InvalidOperationException>(failure);
        Assert.StartsWith("Model 'taxi': FromAzureBlob has no storage client. Set ConnectionString or ServiceUri", failure.Message, StringComparison.Ordinal);
    }

    private static async Task<ModelLoadException> LoadThroughRegisteredClientAsync(BlobContainerClient container, Uri containerSas)
    {
        var serviceWithSas = new UriBuilder(containerSas) { Path = $"/{AzuriteServer.AccountName}" }.Uri;
        var services = new ServiceCollection();
        services.AddSingleton(new BlobServiceClient(serviceWithSas, BlobModels.FastOptions()));
        services.AddModelCache().AddModel<ITransformer>("taxi", model => model.FromAzureBlob(container.Name, "taxi.zip").UseMLNet());
        await using ServiceProvider provider = services.BuildServiceProvider();
        return await Assert.ThrowsAsync<ModelLoadException>(() => provider.Taxi().GetModelAsync().AsTask());
    }

    private sealed class NoCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            throw new CredentialUnavailableException("no identity on this machine");

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            throw new CredentialUnavailableException("no identity on this machine");
    }
}
