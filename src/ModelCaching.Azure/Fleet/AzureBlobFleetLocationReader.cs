using System.Runtime.InteropServices;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelCaching.Fleet;

namespace ModelCaching;

/// <summary>
/// Reads the fleet's <c>azure-blob://container/blob[?versionid=…|?snapshot=…]</c> locations, and the blob addresses of
/// the configured account without a SAS, through <see cref="AzureBlobModelSource"/>, so a fleet version read from a blob
/// has the same size checks (from the blob's properties, then while reading), Content-MD5 check and error messages as a
/// model loaded with <c>FromAzureBlob</c>.
/// </summary>
internal sealed class AzureBlobFleetLocationReader : IFleetContentLocationReader
{
    private readonly Lazy<BlobServiceClient?> _client;
    private readonly object? _serviceKey;
    private readonly ILoggerFactory? _loggerFactory;

    public AzureBlobFleetLocationReader(BlobServiceClient? ownClient, object? serviceKey, IServiceProvider services)
    {
        _serviceKey = serviceKey;
        _loggerFactory = services.GetService<ILoggerFactory>();

        // The registered client is looked up when first needed, so a publisher that only names azure-blob:// locations needs none.
        _client = new Lazy<BlobServiceClient?>(() => ownClient ?? (serviceKey is null ? services.GetService<BlobServiceClient>() : services.GetKeyedService<BlobServiceClient>(serviceKey)));
    }

    public bool CanRead(string location) => TryParse(location, out _);

    public async Task<byte[]> ReadAsync(string modelName, string location, long maxBytes, CancellationToken cancellationToken)
    {
        if (!TryParse(location, out AzureBlobFleetLocation blob))
        {
            throw new ArgumentException($"Model '{modelName}': '{location.Split('?')[0]}' is not an azure-blob://container/blob[?versionid=…|?snapshot=…] location nor a blob address of the configured account.", nameof(location));
        }

        BlobServiceClient service = _client.Value ?? throw new InvalidOperationException(_serviceKey is null
            ? "AddAzureBlobFleetLocations has no storage client. Set ConnectionString or ServiceUri in its options, or register a BlobServiceClient (services.AddSingleton(new BlobServiceClient(...)), or AddAzureClients)."
            : $"AddAzureBlobFleetLocations has no storage client: no BlobServiceClient is registered with the service key '{_serviceKey}'.");
        BlobClient client = service.GetBlobContainerClient(blob.Container).GetBlobClient(blob.BlobName);
        var pin = new AzureBlobModelSourceOptions { VersionId = blob.VersionId, Snapshot = blob.Snapshot, PollingInterval = null };
        using var source = new AzureBlobModelSource(client, pin, loggerFactory: _loggerFactory);

        // No serving version: the read is unconditional and always returns content (or throws).
        ModelArtifact artifact = (await source.FetchAsync(new ModelFetchContext(modelName, current: null, maxBytes), cancellationToken).ConfigureAwait(false))!;
        return MemoryMarshal.TryGetArray(artifact.Content, out ArraySegment<byte> whole) && whole.Offset == 0 && whole.Count == whole.Array!.Length
            ? whole.Array
            : artifact.Content.ToArray();
    }

    private bool TryParse(string location, out AzureBlobFleetLocation blob) =>
        AzureBlobFleetLocation.TryParse(location, out blob) || (IsHttp(location) && _client.Value is { } client && AzureBlobFleetLocation.TryParseAddress(location, client, out blob));

    // Only an http(s) address makes the reader look for its client (cheap: no I/O).
    private static bool IsHttp(string location) =>
        location.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("http://", StringComparison.OrdinalIgnoreCase);
}
