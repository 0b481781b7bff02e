using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Azure.Tests.Support;
using ModelCaching.Fleet;
using ModelCaching.Redis.Tests.Support;
using StackExchange.Redis;

namespace ModelCaching.Azure.Tests.Fleet;

/// <summary>
/// A fleet (the real redis-server) whose published versions point at blobs (Azurite): <c>AddAzureBlobFleetLocations</c>
/// reads them on every instance, the fleet's SHA-256 still decides, and no secret reaches Redis.
/// </summary>
public sealed class FleetBlobLocationTests(AzuriteFixture azurite, RedisServerFixture redis) : IClassFixture<AzuriteFixture>, IClassFixture<RedisServerFixture>, IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _fleet = $"blobs-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task PublishedBlobLocation_IsServedByTwoHosts_AndNoSecretReachesRedis()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        byte[] content = Encoding.UTF8.GetBytes("hello from a blob");
        await container.UploadBlobAsync("models/greeting v1.txt", BinaryData.FromBytes(content));
        await using BlobFleetHost first = await StartHostAsync("pod-a");
        await using BlobFleetHost second = await StartHostAsync("pod-b");
        using ConnectionMultiplexer watcher = await ConnectionMultiplexer.ConnectAsync(BlobFleetHost.Patient(redis.Server.Configuration));
        var messages = new ConcurrentQueue<string>();
        await watcher.GetSubscriber().SubscribeAsync(RedisChannel.Pattern("*"), (_, message) => messages.Enqueue(message.ToString()));
        await using ServiceProvider publisher = BlobFleetHost.Publisher(redis.Server.Configuration, _fleet, azurite.Server.ConnectionString);
        string location = $"azure-blob://{container.Name}/models/greeting%20v1.txt";

        FleetVersion version = await publisher.GetRequiredService<IModelFleet>().PublishLocationAsync(BlobFleetHost.ModelName, location, Sha256(content), content.Length, new FleetPublishOptions { VersionId = "blob-1" });

        Assert.Equal(location, version.Location);
        Assert.Equal(FleetContentStorage.Location, version.Storage);
        await first.WaitForVersionAsync("blob-1");
        await second.WaitForVersionAsync("blob-1");
        Assert.Equal("hello from a blob", first.Cache.GetModel());
        Assert.Equal("hello from a blob", second.Cache.GetModel());
        Assert.Equal(Sha256(content), second.Cache.Version!.Id);
        Assert.NotEmpty(messages);
        Assert.DoesNotContain(messages, m => m.Contains(AzuriteServer.AccountKey, StringComparison.Ordinal));
        string everything = await EverythingInRedisAsync(watcher);
        Assert.Contains(location, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteServer.AccountKey, everything, StringComparison.Ordinal);
        Assert.DoesNotContain("AccountKey", everything, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SnapshotPinnedLocation_ServesTheSnapshot_AfterTheBlobIsOverwritten()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("greeting.txt");
        byte[] snapshotted = Encoding.UTF8.GetBytes("hello from the snapshot");
        byte[] overwritten = Encoding.UTF8.GetBytes("hello from the overwritten blob");
        await blob.UploadAsync(BinaryData.FromBytes(snapshotted));
        string snapshot = (await blob.CreateSnapshotAsync()).Value.Snapshot;
        await blob.UploadAsync(BinaryData.FromBytes(overwritten), overwrite: true);
        await using BlobFleetHost host = await StartHostAsync("pod-a");
        await using ServiceProvider publisher = BlobFleetHost.Publisher(redis.Server.Configuration, _fleet, azurite.Server.ConnectionString);
        IModelFleet fleet = publisher.GetRequiredService<IModelFleet>();

        await fleet.PublishLocationAsync(BlobFleetHost.ModelName, $"azure-blob://{container.Name}/greeting.txt?snapshot={Uri.EscapeDataString(snapshot)}", Sha256(snapshotted), snapshotted.Length, new FleetPublishOptions { VersionId = "snapshot-1" });
        await host.WaitForVersionAsync("snapshot-1");
        Assert.Equal("hello from the snapshot", host.Cache.GetModel());

        // The current blob, by the same name without the pin, is the overwritten content.
        await fleet.PublishLocationAsync(BlobFleetHost.ModelName, $"azure-blob://{container.Name}/greeting.txt", Sha256(overwritten), overwritten.Length, new FleetPublishOptions { VersionId = "current-1" });
        await host.WaitForVersionAsync("current-1");
        Assert.Equal("hello from the overwritten blob", host.Cache.GetModel());

        // Back to the snapshot: it still holds what it held, whatever the blob became.
        await fleet.RollbackAsync(BlobFleetHost.ModelName);
        await host.WaitForVersionAsync("snapshot-1");
        Assert.Equal("hello from the snapshot", host.Cache.GetModel());
    }

    [Fact]
    public async Task BlobAddressOfTheConfiguredAccount_WithoutASas_IsReadWithTheReadersClient()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("tenants/greeting v2.txt");
        byte[] content = Encoding.UTF8.GetBytes("hello from a blob address");
        await blob.UploadAsync(BinaryData.FromBytes(content));
        await using BlobFleetHost host = await StartHostAsync("pod-a");
        await using ServiceProvider publisher = BlobFleetHost.Publisher(redis.Server.Configuration, _fleet, azurite.Server.ConnectionString);
        IFleetContentLocationReader reader = Assert.Single(publisher.GetServices<IFleetContentLocationReader>());
        string address = blob.Uri.GetLeftPart(UriPartial.Path);

        // The container is private: only a read with the reader's credentials gets these bytes, not the fleet's anonymous http.
        using (var anonymous = new HttpClient())
        {
            Assert.False((await anonymous.GetAsync(address)).IsSuccessStatusCode);
        }

        Assert.True(reader.CanRead(address));
        Assert.False(reader.CanRead(address + "?sv=2025-01-05&sig=secret"));
        Assert.False(reader.CanRead(address.Replace("devstoreaccount1", "otheraccount", StringComparison.Ordinal)));
        Assert.False(reader.CanRead($"http://127.0.0.2:{azurite.Server.ServiceUri.Port}/devstoreaccount1/{container.Name}/greeting.txt"));
        await publisher.GetRequiredService<IModelFleet>().PublishLocationAsync(BlobFleetHost.ModelName, address, Sha256(content), content.Length, new FleetPublishOptions { VersionId = "address-1" });

        await host.WaitForVersionAsync("address-1");
        Assert.Equal("hello from a blob address", host.Cache.GetModel());
    }

    [Fact]
    public async Task BlobWhoseBytesDoNotMatchTheRecordsSha256_IsRefused_AndTheServingModelIsUntouched()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        byte[] content = Encoding.UTF8.GetBytes("tampered content in the blob");
        await container.UploadBlobAsync("greeting.txt", BinaryData.FromBytes(content));
        await using BlobFleetHost host = await StartHostAsync("pod-a");
        await using ServiceProvider publisher = BlobFleetHost.Publisher(redis.Server.Configuration, _fleet, azurite.Server.ConnectionString);
        Task<ModelReloadedEventArgs> noReload = Eventually.NextReload(host.Cache);

        await publisher.GetRequiredService<IModelFleet>().PublishLocationAsync(BlobFleetHost.ModelName, $"azure-blob://{container.Name}/greeting.txt", new string('a', 64), content.Length, new FleetPublishOptions { VersionId = "tampered" });

        await Eventually.TrueAsync(() => host.Cache.GetHistory() is [.., { Outcome: ModelLoadOutcome.Failure }], "the load of the tampered version failed");
        Assert.Contains("SHA-256 mismatch", host.Cache.GetHistory()[^1].Error, StringComparison.Ordinal);
        Assert.Equal(BlobFleetHost.LocalText, host.Cache.GetModel());
        Assert.Equal(ModelCacheState.Degraded, host.Cache.State);
        Assert.False(noReload.IsCompleted);
    }

    [Fact]
    public async Task BlobWhoseContentMd5IsWrong_FailsWithTheSourcesMessage_AndTheServingModelIsUntouched()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        byte[] content = Encoding.UTF8.GetBytes("hello with a wrong Content-MD5");
        BlobClient blob = container.GetBlobClient("greeting.txt");
        await blob.UploadAsync(BinaryData.FromBytes(content));
        await blob.SetHttpHeadersAsync(new global::Azure.Storage.Blobs.Models.BlobHttpHeaders { ContentHash = MD5.HashData("something else"u8) });
        await using BlobFleetHost host = await StartHostAsync("pod-a");
        await using ServiceProvider publisher = BlobFleetHost.Publisher(redis.Server.Configuration, _fleet, azurite.Server.ConnectionString);

        await publisher.GetRequiredService<IModelFleet>().PublishLocationAsync(BlobFleetHost.ModelName, $"azure-blob://{container.Name}/greeting.txt", Sha256(content), content.Length, new FleetPublishOptions { VersionId = "bad-md5" });

        await Eventually.TrueAsync(() => host.Cache.GetHistory() is [.., { Outcome: ModelLoadOutcome.Failure }], "the load of the version with a wrong Content-MD5 failed");
        Assert.Contains("Model 'greeting': blob 'greeting.txt' in container", host.Cache.GetHistory()[^1].Error, StringComparison.Ordinal);
        Assert.Contains("does not match its Content-MD5", host.Cache.GetHistory()[^1].Error, StringComparison.Ordinal);
        Assert.Equal(BlobFleetHost.LocalText, host.Cache.GetModel());
    }

    [Fact]
    public async Task BlobLocation_WithoutAReaderInThePublisher_IsRefusedAtPublish_WithWhatIsAccepted()
    {
        await using ServiceProvider publisher = BlobFleetHost.Publisher(redis.Server.Configuration, _fleet, azurite: null);

        ArgumentException failure = await Assert.ThrowsAsync<ArgumentException>(() => publisher.GetRequiredService<IModelFleet>().PublishLocationAsync(BlobFleetHost.ModelName, "azure-blob://models/greeting.txt", new string('a', 64), 10));

        Assert.StartsWith($"Fleet '{_fleet}', model 'greeting': 'azure-blob://models/greeting.txt' is not a location the fleet reads: publish an absolute file path or an http(s) address.", failure.Message, StringComparison.Ordinal);
        Assert.Contains("AddAzureBlobFleetLocations", failure.Message, StringComparison.Ordinal);
        Assert.Null(await publisher.GetRequiredService<IModelFleet>().GetDesiredVersionAsync(BlobFleetHost.ModelName));
    }

    [Theory]
    [InlineData("azure-blob://models/greeting.txt?sig=secret&se=2030-01-01")]
    [InlineData("azure-blob://models/greeting.txt?versionid=v&snapshot=s")]
    [InlineData("azure-blob://Models_Upper/greeting.txt")]
    [InlineData("azure-blob://models/")]
    [InlineData("azure-blob://models")]
    public async Task BlobLocation_ThatTheReaderDoesNotClaim_IsRefusedAtPublish(string location)
    {
        await using ServiceProvider publisher = BlobFleetHost.Publisher(redis.Server.Configuration, _fleet, azurite.Server.ConnectionString);

        ArgumentException failure = await Assert.ThrowsAsync<ArgumentException>(() => publisher.GetRequiredService<IModelFleet>().PublishLocationAsync(BlobFleetHost.ModelName, location, new string('a', 64), 10));

        Assert.Contains("is not a location the fleet reads: publish an absolute file path, an http(s) address, or a location a registered reader claims (AzureBlobFleetLocationReader)", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("azure-blob://models/greeting.txt", true)]
    [InlineData("AZURE-BLOB://models/tenants/acme/model.zip?versionid=2026-12-06T12:00:00.0000000Z", true)]
    [InlineData("azure-blob://$root/greeting.txt?snapshot=2026-12-06T12%3A00%3A00.0000000Z", true)]
    [InlineData("azure-blob://models/greeting.txt?other=1", false)]
    [InlineData("https://devstoreaccount1.blob.core.windows.net/models/greeting.txt", false)]
    [InlineData("/srv/models/greeting.txt", false)]
    public void Reader_ClaimsOnlyWellFormedBlobLocations(string location, bool claimed)
    {
        var services = new ServiceCollection().AddAzureBlobFleetLocations(o => o.ConnectionString = azurite.Server.ConnectionString);
        using ServiceProvider provider = services.BuildServiceProvider();

        IFleetContentLocationReader reader = Assert.Single(provider.GetServices<IFleetContentLocationReader>());

        Assert.Equal(claimed, reader.CanRead(location));
    }

    [Fact]
    public async Task VersionPinnedLocation_AsksTheRegisteredClientForThatVersion()
    {
        const string version = "2026-12-06T12:00:00.0000000Z";
        var requests = new RequestLog();
        var services = new ServiceCollection();
        services.AddSingleton(new BlobServiceClient(azurite.Server.ConnectionString, BlobModels.FastOptions(requests)));
        services.AddAzureBlobFleetLocations();
        using ServiceProvider provider = services.BuildServiceProvider();
        IFleetContentLocationReader reader = Assert.Single(provider.GetServices<IFleetContentLocationReader>());

        // Azurite has no blob versions: whatever it answers, the request went through the registered client and named the version.
        await Record.ExceptionAsync(() => reader.ReadAsync("greeting", $"azure-blob://models/greeting.txt?versionid={version}", 1024, CancellationToken.None));

        Assert.Contains(requests.Uris, uri => uri.AbsolutePath.EndsWith("/models/greeting.txt", StringComparison.Ordinal) && Uri.UnescapeDataString(uri.Query) == $"?versionid={version}");
    }

    [Fact]
    public async Task Reader_WithoutAnyClient_FailsAtTheFirstRead_NamingTheFix()
    {
        using ServiceProvider provider = new ServiceCollection().AddAzureBlobFleetLocations().BuildServiceProvider();
        IFleetContentLocationReader reader = Assert.Single(provider.GetServices<IFleetContentLocationReader>());

        Assert.True(reader.CanRead("azure-blob://models/greeting.txt"));
        InvalidOperationException failure = await Assert.ThrowsAsync<InvalidOperationException>(() => reader.ReadAsync("greeting", "azure-blob://models/greeting.txt", 1024, CancellationToken.None));

        Assert.StartsWith("AddAzureBlobFleetLocations has no storage client. Set ConnectionString or ServiceUri", failure.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();

    private async Task<BlobFleetHost> StartHostAsync(string instanceId)
    {
        string local = _directory.File($"{instanceId}.txt");
        await File.WriteAllTextAsync(local, BlobFleetHost.LocalText);
        return await BlobFleetHost.StartAsync(redis.Server.Configuration, _fleet, instanceId, azurite.Server.ConnectionString, local);
    }

    private static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    // Every value of every key, as text: what a reader of the fleet's Redis could see.
    private static async Task<string> EverythingInRedisAsync(ConnectionMultiplexer connection)
    {
        IDatabase db = connection.GetDatabase();
        var all = new StringBuilder();
        await foreach (RedisKey key in connection.GetServers()[0].KeysAsync(pattern: "*"))
        {
            all.Append(key).Append('\n');
            RedisType type = await db.KeyTypeAsync(key);
            IEnumerable<string> values = type switch
            {
                RedisType.String => [(string?)await db.StringGetAsync(key) ?? string.Empty],
                RedisType.Hash => (await db.HashGetAllAsync(key)).Select(e => $"{e.Name}={e.Value}"),
                RedisType.List => (await db.ListRangeAsync(key)).Select(v => v.ToString()),
                RedisType.Set => (await db.SetMembersAsync(key)).Select(v => v.ToString()),
                RedisType.SortedSet => (await db.SortedSetRangeByRankAsync(key)).Select(v => v.ToString()),
                RedisType.Stream => (await db.StreamRangeAsync(key)).SelectMany(e => e.Values).Select(v => $"{v.Name}={v.Value}"),
                _ => [],
            };
            foreach (string value in values)
            {
                all.Append(value).Append('\n');
            }
        }

        return all.ToString();
    }
}
