using Azure.Core;
using Azure.Storage.Blobs;

namespace ModelCaching;

/// <summary>
/// How <c>FromAzureBlob</c> reaches the storage account (a connection string, a service address with a credential, or
/// the application's <see cref="BlobServiceClient"/>), which copy of the blob it reads, and how often it polls.
/// </summary>
/// <remarks>
/// The client is chosen in this order: <see cref="ConnectionString"/>; <see cref="ServiceUri"/> with
/// <see cref="Credential"/> (a <c>DefaultAzureCredential</c> when none is given: a managed identity in Azure, the
/// developer's sign-in locally); otherwise the <see cref="BlobServiceClient"/> registered in the application's services
/// (keyed by <see cref="ServiceKey"/> when it is set).
/// </remarks>
public sealed class AzureBlobModelSourceOptions
{
    private TimeSpan? _pollingInterval = TimeSpan.FromMinutes(5);
    private double _pollingJitter = 0.1;

    /// <summary>
    /// A storage connection string (<c>DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…</c>, or one with a
    /// <c>SharedAccessSignature</c>, or <c>UseDevelopmentStorage=true</c> for Azurite).
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
    /// The identity needs the <c>Storage Blob Data Reader</c> role on the container (or the account).
    /// <value>The default is <see langword="null"/> (<c>DefaultAzureCredential</c>).</value>
    /// </summary>
    public TokenCredential? Credential { get; set; }

    /// <summary>
    /// The service key of a keyed <see cref="BlobServiceClient"/> registration to use when neither
    /// <see cref="ConnectionString"/> nor <see cref="ServiceUri"/> is set.
    /// <value>The default is <see langword="null"/> (the unkeyed <see cref="BlobServiceClient"/>).</value>
    /// </summary>
    public object? ServiceKey { get; set; }

    /// <summary>
    /// The SDK's client options (retry policy, network timeout, transport) for a client made from
    /// <see cref="ConnectionString"/> or <see cref="ServiceUri"/>. A registered client keeps its own.
    /// <value>The default is <see langword="null"/> (the SDK's defaults: throttling and server errors retried with backoff).</value>
    /// </summary>
    public BlobClientOptions? ClientOptions { get; set; }

    /// <summary>
    /// A blob version id to read instead of the current blob, on an account that keeps versions. A version never
    /// changes, so a pinned source does not poll.
    /// <value>The default is <see langword="null"/> (the current blob).</value>
    /// </summary>
    public string? VersionId { get; set; }

    /// <summary>
    /// A blob snapshot (its timestamp) to read instead of the current blob. A snapshot never changes, so a pinned
    /// source does not poll. Cannot be combined with <see cref="VersionId"/>.
    /// <value>The default is <see langword="null"/> (the current blob).</value>
    /// </summary>
    public string? Snapshot { get; set; }

    /// <summary>
    /// How often the source asks whether the blob changed (a conditional request on its ETag, answered
    /// <c>304 Not Modified</c> without a body when nothing changed), or <see langword="null"/> not to poll.
    /// <value>The default is 5 minutes.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan? PollingInterval
    {
        get => _pollingInterval;
        set => _pollingInterval = PollingClock.CheckInterval(value);
    }

    /// <summary>
    /// How much each polling delay varies at random, as a fraction of <see cref="PollingInterval"/> (0 to 1), so a fleet
    /// of instances does not ask (and reload) at the same moment.
    /// <value>The default is 0.1 (each delay is within ±10% of the interval).</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not between 0 and 1.</exception>
    public double PollingJitter
    {
        get => _pollingJitter;
        set => _pollingJitter = PollingClock.CheckJitter(value);
    }

    /// <summary>Whether a version or a snapshot is pinned (the content cannot change).</summary>
    internal bool IsPinned => VersionId is not null || Snapshot is not null;

    /// <summary>Throws when the options cannot make a source, naming the model and the field.</summary>
    internal void Validate(string? modelName)
    {
        string who = modelName is null ? "The Azure blob model source" : $"Model '{modelName}'";
        if (VersionId is not null && Snapshot is not null)
        {
            throw new ArgumentException($"{who}: set VersionId or Snapshot, not both.", nameof(VersionId));
        }

        if (ConnectionString is not null && ServiceUri is not null)
        {
            throw new ArgumentException($"{who}: set ConnectionString or ServiceUri, not both.", nameof(ServiceUri));
        }

        if (ServiceUri is { } uri && (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)))
        {
            throw new ArgumentException($"{who}: ServiceUri must be an absolute https:// address such as https://account.blob.core.windows.net (was '{AddressRedaction.Redact(uri)}').", nameof(ServiceUri));
        }

        if (Credential is not null && ServiceUri is null)
        {
            throw new ArgumentException($"{who}: Credential is used with ServiceUri; set ServiceUri too.", nameof(Credential));
        }
    }

    internal AzureBlobModelSourceOptions Clone() => new()
    {
        ConnectionString = ConnectionString,
        ServiceUri = ServiceUri,
        Credential = Credential,
        ServiceKey = ServiceKey,
        ClientOptions = ClientOptions,
        VersionId = VersionId,
        Snapshot = Snapshot,
        _pollingInterval = _pollingInterval,
        _pollingJitter = _pollingJitter,
    };
}
