namespace ModelCaching.Redis.Records;

/// <summary>
/// Reads a version published by location: an absolute file path (a shared volume) or an <c>http(s)</c> address, never
/// more than the cache's size limit (the limit holds while reading).
/// </summary>
internal static class ContentLocation
{
    public static bool IsSupported(string location) =>
        IsHttp(location, out _) || (Path.IsPathFullyQualified(location) && !location.Contains("://", StringComparison.Ordinal));

    /// <summary>The location for messages, with any credentials in an address taken out.</summary>
    public static string Redact(string location) => AddressRedaction.Redact(location);

    public static async Task<byte[]> ReadAsync(string location, long maxBytes, HttpClient http, CancellationToken cancellationToken)
    {
        if (IsHttp(location, out Uri? uri))
        {
            using HttpResponseMessage response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"GET {Redact(location)} answered {(int)response.StatusCode} {response.ReasonPhrase}", inner: null, response.StatusCode);
            }

            await using Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return await ArtifactReader.ReadAllAsync(body, maxBytes, Redact(location), cancellationToken, response.Content.Headers.ContentLength).ConfigureAwait(false);
        }

        if (!IsSupported(location))
        {
            throw new InvalidDataException($"'{Redact(location)}' is neither an absolute file path nor an http(s) address");
        }

        await using FileStream stream = new(location, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await ArtifactReader.ReadAllAsync(stream, maxBytes, location, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsHttp(string location, out Uri? uri) =>
        Uri.TryCreate(location, UriKind.Absolute, out uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);
}
