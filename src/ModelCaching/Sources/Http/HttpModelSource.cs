using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;
using ModelCaching.Reload;

namespace ModelCaching;

/// <summary>
/// A source that downloads the model over HTTPS with an <c>HttpClient</c> (one of <c>IHttpClientFactory</c>, through ModelCaching.Http's <c>FromHttp</c>), asks for a
/// new version with conditional GETs (<c>If-None-Match</c>, <c>If-Modified-Since</c>) on a jittered polling
/// interval, and refuses what is not a model (an error status, an HTML error page, an oversize body) before
/// the loader sees it.
/// </summary>
public sealed class HttpModelSource : IModelSource, IDisposable
{
    // For use without dependency injection: one client for the process, with pooled connections recycled so
    // DNS changes are seen (what IHttpClientFactory does for us otherwise).
    private static readonly Lazy<HttpClient> s_sharedClient = new(static () => new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) }));

    private readonly HttpModelSourceOptions _options;
    private readonly Func<HttpClient> _createClient;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly PollingClock? _polling;
    private readonly Lock _gate = new();

    // The Last-Modified of the last few downloads by content hash, for If-Modified-Since against the serving
    // version (which may not be the last download, when that one failed to load). Guarded by _gate.
    private readonly Queue<(string Hash, DateTimeOffset LastModified)> _lastModified = new();

    /// <summary>
    /// Creates a source that asks <paramref name="createClient"/> for a client for each download and does not dispose
    /// it: <c>() =&gt; httpClientFactory.CreateClient(options.HttpClientName)</c>, say. <c>FromHttp</c> (ModelCaching.Http)
    /// builds it so with the application's <c>IHttpClientFactory</c>.
    /// </summary>
    /// <param name="options">The address and settings; they are copied and checked now.</param>
    /// <param name="createClient">Returns the client for one download.</param>
    /// <param name="timeProvider">The clock for polling and the timeout; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where the source logs; none by default.</param>
    /// <exception cref="ArgumentException">The options have no absolute https address (or http without <see cref="HttpModelSourceOptions.AllowHttp"/>).</exception>
    public HttpModelSource(HttpModelSourceOptions options, Func<HttpClient> createClient, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : this(options, timeProvider, loggerFactory, createClient ?? throw new ArgumentNullException(nameof(createClient)))
    {
    }

    /// <summary>
    /// Creates a source for use without dependency injection: downloads go through one process-wide
    /// <see cref="HttpClient"/> whose connections are recycled every two minutes.
    /// </summary>
    /// <param name="options">The address and settings; they are copied and checked now.</param>
    /// <param name="timeProvider">The clock for polling and the timeout; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where the source logs; none by default.</param>
    /// <exception cref="ArgumentException">The options have no absolute https address (or http without <see cref="HttpModelSourceOptions.AllowHttp"/>).</exception>
    public HttpModelSource(HttpModelSourceOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : this(options, timeProvider, loggerFactory, static () => s_sharedClient.Value)
    {
    }

    private HttpModelSource(HttpModelSourceOptions options, TimeProvider? timeProvider, ILoggerFactory? loggerFactory, Func<HttpClient> createClient)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(modelName: null);
        _options = options.Clone();
        _createClient = createClient;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("ModelCaching.HttpModelSource");
        Uri = _options.Uri!;

        // Query strings and user info often carry secrets (SAS tokens): keep them out of logs and metrics.
        Description = AddressRedaction.Redact(Uri);
        if (_options.PollingInterval is { } interval)
        {
            _polling = new PollingClock(interval, _options.PollingJitter, _timeProvider, _logger, Description);
        }
    }

    /// <summary>The model's address.</summary>
    public Uri Uri { get; }

    /// <inheritdoc />
    /// <remarks>The address without its query string or user info, which often carry secrets.</remarks>
    public string Description { get; }

    /// <inheritdoc />
    /// <exception cref="HttpRequestException">The server answered with an error status, or could not be reached.</exception>
    /// <exception cref="InvalidDataException">The body is an HTML page, empty, or larger than <see cref="ModelFetchContext.MaxArtifactBytes"/>.</exception>
    /// <exception cref="TimeoutException">The download took longer than <see cref="HttpModelSourceOptions.Timeout"/>.</exception>
    public async ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);

        using var request = new HttpRequestMessage(HttpMethod.Get, Uri);
        bool conditional = AddConditionalHeaders(request, context.Current);

        using var timeout = _options.Timeout == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(_options.Timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            HttpClient client = _createClient();
            using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotModified)
            {
                if (!conditional)
                {
                    throw new HttpRequestException($"GET {Description} answered 304 Not Modified to a request that was not conditional.", null, response.StatusCode);
                }

                ReloadLog.HttpNotModified(_logger, Description);
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"GET {Description} answered {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
            }

            HttpContentHeaders headers = response.Content.Headers;
            if (headers.ContentType?.MediaType is "text/html" or "application/xhtml+xml")
            {
                throw new InvalidDataException($"GET {Description} answered {(int)response.StatusCode} with an HTML page ({headers.ContentType.MediaType}), not a model; an error or login page is never handed to the loader.");
            }

            if (headers.ContentLength is { } declared && declared > context.MaxArtifactBytes)
            {
                throw ArtifactReader.TooLarge(Description, declared, context.MaxArtifactBytes);
            }

            Stream body = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            byte[] content;
            await using (body.ConfigureAwait(false))
            {
                content = await ArtifactReader.ReadAllAsync(body, context.MaxArtifactBytes, Description, linked.Token, headers.ContentLength).ConfigureAwait(false);
            }

            CheckBody(content, headers.ContentType?.MediaType);
            string? etag = response.Headers.ETag?.ToString();
            var artifact = new ModelArtifact(content, Description, etag, headers.LastModified);
            RememberLastModified(artifact);
            ReloadLog.HttpFetched(_logger, Description, (int)response.StatusCode, content.Length, etag);
            return artifact;
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"GET {Description} did not complete within {_options.Timeout}.", ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Returns <see langword="null"/> when <see cref="HttpModelSourceOptions.PollingInterval"/> is <see langword="null"/>
    /// (or after <see cref="Dispose"/>). The first call starts polling; each token fires when the next poll is
    /// due, and the cache then asks with a conditional GET whether there is a new version.
    /// </remarks>
    public IChangeToken? GetChangeToken() => _polling?.GetToken();

    /// <summary>Stops polling. Safe to call more than once.</summary>
    public void Dispose() => _polling?.Dispose();

    /// <summary>Adds If-None-Match / If-Modified-Since for the serving version; returns whether it did.</summary>
    private bool AddConditionalHeaders(HttpRequestMessage request, ModelVersion? current)
    {
        // Without a serving version a 304 would leave the cache with nothing to serve: ask unconditionally.
        if (current is null)
        {
            return false;
        }

        bool conditional = false;
        if (current.ETag is { } etag && EntityTagHeaderValue.TryParse(etag, out EntityTagHeaderValue? parsed))
        {
            request.Headers.IfNoneMatch.Add(parsed);
            conditional = true;
        }

        lock (_gate)
        {
            foreach ((string hash, DateTimeOffset lastModified) in _lastModified)
            {
                if (hash == current.Id)
                {
                    request.Headers.IfModifiedSince = lastModified;
                    conditional = true;
                    break;
                }
            }
        }

        return conditional;
    }

    private void RememberLastModified(ModelArtifact artifact)
    {
        if (artifact.LastModified is not { } lastModified || artifact.ContentHash is not { } hash)
        {
            return;
        }

        lock (_gate)
        {
            if (_lastModified.Count == 4)
            {
                _lastModified.Dequeue();
            }

            _lastModified.Enqueue((hash, lastModified));
        }
    }

    private void CheckBody(byte[] content, string? mediaType)
    {
        if (content.Length == 0)
        {
            throw new InvalidDataException($"GET {Description} answered with an empty body, not a model.");
        }

        if (_options.AllowMarkupContent)
        {
            return;
        }

        ReadOnlySpan<byte> text = content;
        if (text.StartsWith("\uFEFF"u8))
        {
            text = text[3..];
        }

        text = text.TrimStart(" \t\r\n"u8);
        if (!text.IsEmpty && text[0] == (byte)'<')
        {
            string start = System.Text.Encoding.UTF8.GetString(text[..Math.Min(text.Length, 60)]).ReplaceLineEndings(" ");
            throw new InvalidDataException($"GET {Description} answered with markup ({mediaType ?? "no content type"}, starting '{start}'), which looks like an error page, not a model. Set AllowMarkupContent for XML model formats.");
        }
    }
}
