using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;

namespace ModelCaching;

/// <summary>
/// A source that reads a model from an Azure Storage blob with the storage SDK: it asks whether the blob changed with a
/// request conditional on the serving version's ETag (an unchanged blob costs one bodiless <c>304</c>), checks the size
/// from the blob's properties before reading a byte and again while reading, checks the blob's Content-MD5 when it has
/// one, and can pin a blob version or snapshot. Throttling and transient failures are retried by the SDK's retry policy;
/// what remains is an <see cref="AzureBlobModelSourceException"/> naming the model, the blob and the cause.
/// </summary>
public sealed class AzureBlobModelSource : IModelSource, IDisposable
{
    // A blob replaced between its properties and its download answers 412 to the download (If-Match): read it again,
    // a bounded number of times, so a blob rewritten continuously fails the load instead of looping.
    private const int MaxReads = 3;

    private readonly BlobClient _blob;
    private readonly string _blobText;
    private readonly ILogger _logger;
    private readonly PollingClock? _polling;
    private long _unchangedPolls;

    /// <summary>Creates a source over <paramref name="blob"/>; <c>FromAzureBlob</c> builds one for a model.</summary>
    /// <param name="blob">The blob; its client decides the credential and the retry policy.</param>
    /// <param name="options">A pinned version or snapshot and the polling settings (the client settings are not used here); copied and checked now.</param>
    /// <param name="timeProvider">The clock for polling; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where the source logs; none by default.</param>
    /// <exception cref="ArgumentException">The options set both a version and a snapshot.</exception>
    public AzureBlobModelSource(BlobClient blob, AzureBlobModelSourceOptions? options = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(blob);
        AzureBlobModelSourceOptions settings = options?.Clone() ?? new AzureBlobModelSourceOptions();
        settings.Validate(modelName: null);
        _blob = settings.VersionId is { } version ? blob.WithVersion(version)
            : settings.Snapshot is { } snapshot ? blob.WithSnapshot(snapshot)
            : blob;

        // The account, container and blob name: never the query string, which may carry a SAS.
        string pin = settings.VersionId is { } v ? $" (version {v})" : settings.Snapshot is { } s ? $" (snapshot {s})" : string.Empty;
        Description = $"azure-blob://{blob.AccountName}/{blob.BlobContainerName}/{blob.Name}{pin}";
        _blobText = $"blob '{blob.Name}'{pin} in container '{blob.BlobContainerName}' of storage account '{blob.AccountName}'";
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("ModelCaching.AzureBlobModelSource");

        // A version or a snapshot never changes: nothing to poll.
        if (settings.PollingInterval is { } interval && !settings.IsPinned)
        {
            _polling = new PollingClock(interval, settings.PollingJitter, timeProvider ?? TimeProvider.System, _logger, Description);
        }
    }

    /// <inheritdoc />
    /// <remarks><c>azure-blob://account/container/blob</c>, with the pinned version or snapshot; never a SAS.</remarks>
    public string Description { get; }

    /// <summary>The blob's address without its query string (which may carry a SAS).</summary>
    public Uri BlobUri => new(_blob.Uri.GetLeftPart(UriPartial.Path));

    /// <summary>How many times the blob was found unchanged (<c>304 Not Modified</c> on the serving version's ETag).</summary>
    public long UnchangedPolls => Interlocked.Read(ref _unchangedPolls);

    /// <inheritdoc />
    /// <exception cref="AzureBlobModelSourceException">The blob or its container does not exist, access was denied, the account throttled past the SDK's retries, or the download broke off.</exception>
    /// <exception cref="InvalidDataException">The blob is empty, larger than <see cref="ModelFetchContext.MaxArtifactBytes"/>, or does not match its Content-MD5.</exception>
    public async ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? servingETag = context.Current?.ETag;
        try
        {
            for (int read = 1; ; read++)
            {
                BlobProperties properties;
                try
                {
                    // Without a serving version a 304 would leave nothing to serve: ask unconditionally.
                    BlobRequestConditions? unlessUnchanged = servingETag is null ? null : new BlobRequestConditions { IfNoneMatch = new ETag(servingETag) };
                    properties = (await _blob.GetPropertiesAsync(unlessUnchanged, cancellationToken).ConfigureAwait(false)).Value;
                }
                catch (RequestFailedException ex) when (ex.Status == 304 && servingETag is not null)
                {
                    long unchanged = Interlocked.Increment(ref _unchangedPolls);
                    AzureBlobLog.NotModified(_logger, Description, servingETag, unchanged);
                    return null;
                }

                // The limit holds before a byte of the body is read.
                CheckLength(properties.ContentLength, context);
                try
                {
                    return await DownloadAsync(context, properties, cancellationToken).ConfigureAwait(false);
                }
                catch (RequestFailedException ex) when (ex.Status == 412 && read < MaxReads)
                {
                    AzureBlobLog.ChangedWhileReading(_logger, Description, properties.ETag.ToString());
                }
            }
        }
        catch (Exception ex) when (BlobFailures.Describe(ex, context.ModelName, _blobText, servingETag) is { } described)
        {
            throw described;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// <see langword="null"/> without a <see cref="AzureBlobModelSourceOptions.PollingInterval"/>, for a pinned version or
    /// snapshot, and after <see cref="Dispose"/>. The first call starts polling; each token fires when the next poll is due.
    /// </remarks>
    public IChangeToken? GetChangeToken() => _polling?.GetToken();

    /// <summary>Stops polling. Safe to call more than once.</summary>
    public void Dispose() => _polling?.Dispose();

    private async Task<ModelArtifact> DownloadAsync(ModelFetchContext context, BlobProperties properties, CancellationToken cancellationToken)
    {
        // If-Match: exactly the blob whose size was checked; a replaced blob answers 412 and is read again.
        var options = new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = properties.ETag } };
        using BlobDownloadStreamingResult download = (await _blob.DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false)).Value;
        BlobDownloadDetails details = download.Details;
        CheckLength(details.ContentLength, context);
        byte[] content;
        try
        {
            // The limit holds while reading too: the body stops at the limit plus one segment, never buffered whole.
            content = await ArtifactReader.ReadAllAsync(download.Content, context.MaxArtifactBytes, Description, cancellationToken, details.ContentLength).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or RequestFailedException or AggregateException && !cancellationToken.IsCancellationRequested)
        {
            throw BlobFailures.BrokenOff(ex, context.ModelName, _blobText);
        }

        if (content.Length != details.ContentLength)
        {
            throw BlobFailures.BrokenOff(new EndOfStreamException($"{content.Length:N0} of {details.ContentLength:N0} bytes arrived"), context.ModelName, _blobText);
        }

        byte[]? md5 = properties.ContentHash is { Length: > 0 } whole ? whole : details.BlobContentHash;
        bool md5Checked = md5 is { Length: > 0 };
        if (md5Checked && !MD5.HashData(content).AsSpan().SequenceEqual(md5))
        {
            throw new InvalidDataException($"Model '{context.ModelName}': {_blobText} does not match its Content-MD5 ({Convert.ToBase64String(md5!)}; the downloaded bytes hash to {Convert.ToBase64String(MD5.HashData(content))}). The blob was corrupted or its Content-MD5 property is wrong.");
        }

        string etag = details.ETag.ToString();
        string location = details.VersionId is { } versionId ? $"{Description} version {versionId}" : Description;
        AzureBlobLog.Downloaded(_logger, Description, content.Length, etag, details.VersionId, md5Checked);
        return new ModelArtifact(content, location, etag, details.LastModified);
    }

    private void CheckLength(long length, ModelFetchContext context)
    {
        if (length > context.MaxArtifactBytes)
        {
            throw ArtifactReader.TooLarge(Description, length, context.MaxArtifactBytes);
        }

        if (length == 0)
        {
            throw new InvalidDataException($"Model '{context.ModelName}': {_blobText} is empty, not a model.");
        }
    }
}
