using Azure.Storage.Blobs;

namespace ModelCaching.Azure.Tests.Support;

/// <summary>
/// One Azurite per test class (xunit class fixture). Each test makes its own container (<see cref="NewContainerAsync"/>),
/// so tests never see each other's blobs.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteServer? _server;
    private int _containers;

    public AzuriteServer Server => _server ?? throw new InvalidOperationException("the fixture has not started");

    public BlobServiceClient Client => new(Server.ConnectionString);

    /// <summary>Creates a container with a fresh name and returns its client.</summary>
    public async Task<BlobContainerClient> NewContainerAsync()
    {
        BlobContainerClient container = Client.GetBlobContainerClient($"models-{Interlocked.Increment(ref _containers)}-{Guid.NewGuid():N}"[..40]);
        await container.CreateAsync();
        return container;
    }

    public async Task InitializeAsync() => _server = await AzuriteServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
