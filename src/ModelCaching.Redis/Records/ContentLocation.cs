namespace ModelCaching.Redis.Records;

/// <summary>
/// Reads a version published by location, never more than the cache's size limit (the limit holds while reading): with
/// the first registered <see cref="IFleetContentLocationReader"/> that claims the location (an Azure blob, say), else by
/// itself when it is an absolute file path (a shared volume) or an <c>http(s)</c> address. Publishing asks it too, so a
/// location no instance could read is refused before it reaches the fleet's records.
/// </summary>
internal sealed class ContentLocation(IEnumerable<IFleetContentLocationReader> readers) : IDisposable
{
    private readonly IFleetContentLocationReader[] _readers = [.. readers];

    // One client for every download of the instance's fleet models (connection reuse, no socket per fetch); made at the
    // first http(s) read, so a publisher or an instance that never reads one opens nothing.
    private readonly Lazy<HttpClient> _http = new(static () => new HttpClient());

    /// <summary>What the refusal of a location says can be published.</summary>
    public string Accepted => _readers.Length == 0
        ? "an absolute file path or an http(s) address"
        : $"an absolute file path, an http(s) address, or a location a registered reader claims ({string.Join(", ", _readers.Select(r => r.GetType().Name))})";

    public bool IsSupported(string location) => Claimant(location) is not null || IsBuiltIn(location);

    /// <summary>The location for messages, with any credentials in an address taken out.</summary>
    public static string Redact(string location) => AddressRedaction.Redact(location);

    public async Task<byte[]> ReadAsync(string modelName, string location, long maxBytes, CancellationToken cancellationToken)
    {
        if (Claimant(location) is { } reader)
        {
            return await reader.ReadAsync(modelName, location, maxBytes, cancellationToken).ConfigureAwait(false);
        }

        if (IsHttp(location, out Uri? uri))
        {
            using HttpResponseMessage response = await _http.Value.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"GET {Redact(location)} answered {(int)response.StatusCode} {response.ReasonPhrase}", inner: null, response.StatusCode);
            }

            await using Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return await ArtifactReader.ReadAllAsync(body, maxBytes, Redact(location), cancellationToken, response.Content.Headers.ContentLength).ConfigureAwait(false);
        }

        if (!IsBuiltIn(location))
        {
            throw new InvalidDataException($"'{Redact(location)}' is not {Accepted}");
        }

        await using FileStream stream = new(location, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await ArtifactReader.ReadAllAsync(stream, maxBytes, location, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (_http.IsValueCreated)
        {
            _http.Value.Dispose();
        }
    }

    private IFleetContentLocationReader? Claimant(string location)
    {
        foreach (IFleetContentLocationReader reader in _readers)
        {
            if (reader.CanRead(location))
            {
                return reader;
            }
        }

        return null;
    }

    private static bool IsBuiltIn(string location) =>
        IsHttp(location, out _) || (Path.IsPathFullyQualified(location) && !location.Contains("://", StringComparison.Ordinal));

    private static bool IsHttp(string location, out Uri? uri) =>
        Uri.TryCreate(location, UriKind.Absolute, out uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);
}
