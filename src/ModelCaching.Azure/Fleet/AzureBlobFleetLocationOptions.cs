using Azure.Core;
using Azure.Storage.Blobs;

namespace ModelCaching;

/// <summary>
/// How the fleet's <c>azure-blob://</c> locations (<c>AddAzureBlobFleetLocations</c>) reach the storage account: the same
/// choices as <see cref="AzureBlobModelSourceOptions"/>. None of it goes into the fleet's records: a published location
/// names only the container, the blob and its version or snapshot.
/// </summary>
/// <remarks>
/// The client is chosen in this order: <see cref="ConnectionString"/>; <see cref="ServiceUri"/> with
/// <see cref="Credential"/> (a <c>DefaultAzureCredential</c> when none is given); otherwise the
/// <see cref="BlobServiceClient"/> registered in the application's services (keyed by <see cref="ServiceKey"/> when set),
/// looked up at the first read.
/// </remarks>
public sealed class AzureBlobFleetLocationOptions
{
    /// <summary>
    /// A storage connection string (<c>UseDevelopmentStorage=true</c> for Azurite).
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The blob service's address (<c>https://account.blob.core.windows.net</c>), used with <see cref="Credential"/>.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public Uri? ServiceUri { get; set; }

    /// <summary>
    /// The credential for <see cref="ServiceUri"/>; a <c>DefaultAzureCredential</c> when it is <see langword="null"/>.
    /// <value>The default is <see langword="null"/> (<c>DefaultAzureCredential</c>).</value>
    /// </summary>
    public TokenCredential? Credential { get; set; }

    /// <summary>
    /// The service key of a keyed <see cref="BlobServiceClient"/> registration, used when neither
    /// <see cref="ConnectionString"/> nor <see cref="ServiceUri"/> is set.
    /// <value>The default is <see langword="null"/> (the unkeyed <see cref="BlobServiceClient"/>).</value>
    /// </summary>
    public object? ServiceKey { get; set; }

    /// <summary>
    /// The SDK's client options (retry policy, network timeout) for a client made from <see cref="ConnectionString"/> or
    /// <see cref="ServiceUri"/>.
    /// <value>The default is <see langword="null"/> (the SDK's defaults).</value>
    /// </summary>
    public BlobClientOptions? ClientOptions { get; set; }

    /// <summary>The same client settings as source options, checked with the source's rules and messages.</summary>
    internal AzureBlobModelSourceOptions ToSourceOptions()
    {
        var options = new AzureBlobModelSourceOptions
        {
            ConnectionString = ConnectionString,
            ServiceUri = ServiceUri,
            Credential = Credential,
            ServiceKey = ServiceKey,
            ClientOptions = ClientOptions,
        };
        options.Validate(modelName: null);
        return options;
    }
}
