using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Azure.Tests.Support;
using ModelCaching.Fleet;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Azure.Tests.Fleet;

/// <summary>The command-line tool (its own process) publishing blob locations to a fleet on the real redis-server, blobs in Azurite.</summary>
public sealed class FleetCliBlobLocationTests(AzuriteFixture azurite, RedisServerFixture redis) : IClassFixture<AzuriteFixture>, IClassFixture<RedisServerFixture>, IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _fleet = $"cli-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task Publish_OfASnapshotLocation_ComputesItsSha256FromTheBlob_AndTheInstanceServesIt()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("greeting.txt");
        await blob.UploadAsync(BinaryData.FromString("hello from a snapshot, by the cli"));
        string snapshot = (await blob.CreateSnapshotAsync()).Value.Snapshot;
        await blob.UploadAsync(BinaryData.FromString("overwritten"), overwrite: true);
        await using BlobFleetHost host = await StartHostAsync();
        string location = $"azure-blob://{container.Name}/greeting.txt?snapshot={snapshot}";

        FleetCli.Result published = await FleetCli.RunAsync("publish", "--redis", BlobFleetHost.Patient(redis.Server.Configuration), "--fleet", _fleet, "--model", BlobFleetHost.ModelName, "--location", location, "--azure-storage", azurite.Server.ConnectionString, "--version-id", "cli-snapshot");

        Assert.True(published.ExitCode == 0, published.ToString());
        string sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("hello from a snapshot, by the cli")));
        Assert.Contains($"published greeting version cli-snapshot to fleet '{_fleet}' (SHA-256 {sha256}, 33 bytes, by location {location})", published.Output, StringComparison.Ordinal);
        await host.WaitForVersionAsync("cli-snapshot");
        Assert.Equal("hello from a snapshot, by the cli", host.Cache.GetModel());
        await using ServiceProvider reader = BlobFleetHost.Publisher(redis.Server.Configuration, _fleet, azurite: null);
        FleetDesiredVersion? desired = await reader.GetRequiredService<IModelFleet>().GetDesiredVersionAsync(BlobFleetHost.ModelName);
        Assert.Equal(location, desired!.Version.Location);
    }

    [Fact]
    public async Task Publish_OfABlobLocation_WithItsSha256_NeedsNoStorageAccess()
    {
        BlobContainerClient container = await azurite.NewContainerAsync();
        byte[] content = Encoding.UTF8.GetBytes("hello, published without storage access");
        await container.UploadBlobAsync("greeting.txt", BinaryData.FromBytes(content));
        await using BlobFleetHost host = await StartHostAsync();

        FleetCli.Result published = await FleetCli.RunAsync("publish", "--redis", BlobFleetHost.Patient(redis.Server.Configuration), "--fleet", _fleet, "--model", BlobFleetHost.ModelName, "--location", $"azure-blob://{container.Name}/greeting.txt", "--sha256", Convert.ToHexStringLower(SHA256.HashData(content)), "--size", content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "--version-id", "cli-hash");

        Assert.True(published.ExitCode == 0, published.ToString());
        await host.WaitForVersionAsync("cli-hash");
        Assert.Equal("hello, published without storage access", host.Cache.GetModel());
    }

    [Fact]
    public async Task Publish_OfALocationNoReaderClaims_IsRefused_WithWhatIsAccepted()
    {
        FleetCli.Result refused = await FleetCli.RunAsync("publish", "--redis", BlobFleetHost.Patient(redis.Server.Configuration), "--fleet", _fleet, "--model", BlobFleetHost.ModelName, "--location", "s3://bucket/greeting.txt", "--sha256", new string('a', 64), "--size", "10");

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("'s3://bucket/greeting.txt' is not a location the fleet reads: publish an absolute file path, an http(s) address, or a location a registered reader claims (AzureBlobFleetLocationReader)", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_WithBothAFileAndALocation_IsRefused()
    {
        FleetCli.Result refused = await FleetCli.RunAsync("publish", "--redis", BlobFleetHost.Patient(redis.Server.Configuration), "--fleet", _fleet, "--model", BlobFleetHost.ModelName, "--location", "azure-blob://models/greeting.txt", "--file", "/tmp/greeting.txt");

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("give --file or --location (one of them)", refused.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();

    private async Task<BlobFleetHost> StartHostAsync()
    {
        string local = _directory.File("local.txt");
        await File.WriteAllTextAsync(local, BlobFleetHost.LocalText);
        return await BlobFleetHost.StartAsync(redis.Server.Configuration, _fleet, "pod-a", azurite.Server.ConnectionString, local);
    }
}
