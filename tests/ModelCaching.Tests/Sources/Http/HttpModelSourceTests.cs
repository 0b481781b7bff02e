using System.Net;
using System.Net.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Diagnostics;
using ModelCaching.Reload;
using ModelCaching.Tests.Reload;

namespace ModelCaching.Tests.Http;

/// <summary>
/// <see cref="HttpModelSource"/> against a real HTTP server on 127.0.0.1, with polling and timeouts on a
/// <see cref="FakeTimeProvider"/>: conditional GETs, new versions, and everything that must not reach the loader.
/// </summary>
public sealed class HttpModelSourceTests : IAsyncDisposable
{
    private static readonly TimeSpan PollingInterval = TimeSpan.FromMinutes(1);
    private static readonly byte[] Iris = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestModels", "iris.zip"));
    private static readonly byte[] TaxiFare = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestModels", "taxi-fare.zip"));

    private readonly LoopbackHttpServer _server = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly LogSignals _logs = new();
    private readonly ZipModelLoader _loader = new();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Poll_WithAnUnchangedETag_SendsIfNoneMatch_Gets304_AndDoesNotReload()
    {
        _server.RespondWithModel(Iris, etag: "\"v1\"");
        await using ModelCache<ZipModel> cache = CreateCache(Source());
        ZipModel serving = await cache.GetModelAsync();
        Assert.Equal("\"v1\"", cache.Version!.ETag);

        Task unchanged = _logs.WaitForAsync(Log.EventIds.Unchanged);
        _time.Advance(PollingInterval);
        await unchanged;

        RecordedRequest poll = _server.Requests[^1];
        Assert.Equal("\"v1\"", poll.IfNoneMatch);
        Assert.Equal(1, _loader.Loads);
        Assert.Same(serving, cache.GetModel());
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal(1, _logs.Count(ReloadLog.EventIds.HttpNotModified));
    }

    [Fact]
    public async Task Poll_WithANewETag_ReloadsTheNewModel_AndDisposesTheOldOne()
    {
        _server.RespondWithModel(Iris, etag: "\"v1\"");
        await using ModelCache<ZipModel> cache = CreateCache(Source());
        ZipModel first = await cache.GetModelAsync();

        _server.RespondWithModel(TaxiFare, etag: "\"v2\"");
        Task<ModelReloadedEventArgs> reloaded = NextReload(cache);
        _time.Advance(PollingInterval);
        ModelReloadedEventArgs args = await reloaded;

        Assert.Equal(ModelLoadReason.SourceChanged, args.Reason);
        Assert.Equal("\"v2\"", args.Current.ETag);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(TaxiFare)), args.Current.Id);
        Assert.Equal(_server.ModelUri.ToString(), args.Current.Source);
        Assert.True(first.IsDisposed);
        Assert.Equal(2, _loader.Loads);
    }

    [Fact]
    public async Task Poll_WithANewETagButTheSameBytes_DoesNotReload()
    {
        _server.RespondWithModel(Iris, etag: "\"build-1\"");
        await using ModelCache<ZipModel> cache = CreateCache(Source());
        ZipModel serving = await cache.GetModelAsync();

        // A redeploy of the same file under a new ETag (another CDN node, a re-upload).
        _server.RespondWithModel(Iris, etag: "\"build-2\"");
        Task unchanged = _logs.WaitForAsync(Log.EventIds.Unchanged);
        _time.Advance(PollingInterval);
        await unchanged;

        Assert.Equal(1, _loader.Loads);
        Assert.Same(serving, cache.GetModel());
        Assert.Equal(ModelLoadOutcome.Unchanged, cache.GetHistory()[^1].Outcome);
    }

    [Fact]
    public async Task Poll_WithLastModifiedButNoETag_SendsIfModifiedSince_AndA304KeepsTheModel()
    {
        var modified = new DateTimeOffset(2026, 11, 1, 8, 30, 0, TimeSpan.Zero);
        _server.RespondWithModel(Iris, lastModified: modified);
        await using ModelCache<ZipModel> cache = CreateCache(Source());
        await cache.GetModelAsync();

        Task unchanged = _logs.WaitForAsync(Log.EventIds.Unchanged);
        _time.Advance(PollingInterval);
        await unchanged;

        Assert.Equal(modified, DateTimeOffset.Parse(_server.Requests[^1].IfModifiedSince!));
        Assert.Equal(1, _loader.Loads);
    }

    [Fact]
    public async Task ServerError500_WhileServing_KeepsServingAndIsDegraded_NamingTheStatus()
    {
        _server.RespondWithModel(Iris, etag: "\"v1\"");
        await using ModelCache<ZipModel> cache = CreateCache(Source());
        ZipModel serving = await cache.GetModelAsync();

        _server.Respond(static (_, response, _) =>
        {
            response.StatusCode = 500;
            response.StatusDescription = "Internal Server Error";
            return Task.CompletedTask;
        });
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.Contains("answered 500 Internal Server Error", error.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InternalServerError, Assert.IsType<HttpRequestException>(error.InnerException).StatusCode);
        Assert.Same(serving, cache.GetModel());
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.Equal(1, _loader.Loads);
    }

    [Fact]
    public async Task ServerError500_WithNothingServing_ThrowsModelLoadExceptionNamingModelAndAddress()
    {
        _server.Respond(static (_, response, _) =>
        {
            response.StatusCode = 503;
            return Task.CompletedTask;
        });
        await using ModelCache<ZipModel> cache = CreateCache(Source());

        var error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Equal("remote", error.ModelName);
        Assert.Equal(_server.ModelUri.ToString(), error.Source);
        Assert.Contains("503", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text/html; charset=utf-8", "<!DOCTYPE html><html><body>Sign in</body></html>", "HTML page")]
    [InlineData("application/octet-stream", "\n  <html><body>502 Bad Gateway</body></html>", "looks like an error page")]
    public async Task ErrorPageWithStatus200_IsRejectedBeforeTheLoaderSeesIt(string contentType, string page, string expected)
    {
        _server.RespondWithModel(Iris, etag: "\"v1\"");
        await using ModelCache<ZipModel> cache = CreateCache(Source());
        ZipModel serving = await cache.GetModelAsync();

        _server.RespondWithModel(System.Text.Encoding.UTF8.GetBytes(page), etag: "\"proxy\"", contentType: contentType);
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(error.InnerException);
        Assert.Equal(1, _loader.Loads);
        Assert.Same(serving, cache.GetModel());
        Assert.Equal(ModelCacheState.Degraded, cache.State);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OversizeBody_IsRejected_WithOrWithoutAContentLength(bool declared)
    {
        byte[] big = new byte[64 * 1024];
        _server.Respond(async (_, response, cancellationToken) =>
        {
            response.ContentType = "application/zip";
            if (declared)
            {
                response.ContentLength64 = big.Length;
            }
            else
            {
                response.SendChunked = true;
            }

            await response.OutputStream.WriteAsync(big, cancellationToken);
        });
        await using ModelCache<ZipModel> cache = CreateCache(Source(), options => options.MaxArtifactBytes = 16 * 1024);

        var error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("larger than the limit of 16,384 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxArtifactBytes", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _loader.Loads);
    }

    [Fact]
    public async Task SlowResponse_PastTheTimeout_FailsTheLoadWithATimeout_AndKeepsServing()
    {
        _server.RespondWithModel(Iris, etag: "\"v1\"");
        await using ModelCache<ZipModel> cache = CreateCache(Source(options => options.Timeout = TimeSpan.FromSeconds(5)));
        ZipModel serving = await cache.GetModelAsync();

        var never = new TaskCompletionSource();
        _server.Respond(async (_, _, cancellationToken) => await never.Task.WaitAsync(cancellationToken));
        Task<RecordedRequest> received = _server.NextRequest();
        Task<ModelVersion> reload = cache.ReloadAsync();
        await received; // the request is at the server, which does not answer
        _time.Advance(TimeSpan.FromSeconds(5));

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => reload.WaitAsync(LogSignals.Timeout));
        Assert.Contains("did not complete within 00:00:05", error.Message, StringComparison.Ordinal);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Same(serving, cache.GetModel());
        Assert.Equal(ModelCacheState.Degraded, cache.State);
    }

    [Fact]
    public async Task NotModified_ToAnUnconditionalRequest_IsAnError_NotAnEmptyModel()
    {
        _server.Respond(static (_, response, _) =>
        {
            response.StatusCode = 304;
            return Task.CompletedTask;
        });
        await using ModelCache<ZipModel> cache = CreateCache(Source());

        var error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("304 Not Modified to a request that was not conditional", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PlainHttp_IsRefusedUnlessAllowed_NamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new HttpModelSource(new HttpModelSourceOptions { Uri = _server.ModelUri }));
        Assert.Contains("plain http", error.Message, StringComparison.Ordinal);
        Assert.Contains("AllowHttp", error.Message, StringComparison.Ordinal);

        var options = new ModelOptions<ZipModel> { ConfiguredSource = new ConfiguredModelSource { Uri = _server.ModelUri }, Loader = _loader }; // ModelCache:Models:remote:Uri
        var invalid = Assert.Throws<ArgumentException>(() => new ModelCache<ZipModel>("remote", options));
        Assert.Contains("Model 'remote': Uri must be an absolute https:// address, or http:// with AllowHttp", invalid.Message, StringComparison.Ordinal);

        options.ConfiguredSource!.AllowHttp = true;
        using var allowed = new ModelCache<ZipModel>("remote", options);
        Assert.Equal(_server.ModelUri.ToString(), allowed.SourceDescription);
    }

    [Fact]
    public async Task Description_LeavesOutTheQueryString_WhichOftenCarriesASecret()
    {
        _server.Respond(static (_, response, _) =>
        {
            response.StatusCode = 403;
            return Task.CompletedTask;
        });
        var uri = new Uri(_server.ModelUri, "?sv=2026&sig=TOP-SECRET");
        await using ModelCache<ZipModel> cache = CreateCache(new HttpModelSource(new HttpModelSourceOptions { Uri = uri, AllowHttp = true, PollingInterval = null }, _time, _logs));

        var error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("sig=TOP-SECRET", _server.Requests[^1].PathAndQuery, StringComparison.Ordinal);
        Assert.DoesNotContain("TOP-SECRET", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(_logs.Messages, message => message.Contains("TOP-SECRET", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FromHttp_DownloadsThroughTheNamedHttpClient_SoItsHandlersApply()
    {
        _server.Respond(async (request, response, cancellationToken) =>
        {
            if (request.Headers["X-Model-Token"] != "let-me-in")
            {
                response.StatusCode = 401;
                return;
            }

            response.ContentType = "application/zip";
            await response.OutputStream.WriteAsync(Iris, cancellationToken);
        });
        var services = new ServiceCollection();
        services.AddModelCache().AddModel<ZipModel>("remote", model => model
            .FromHttp(_server.ModelUri, options =>
            {
                options.AllowHttp = true;
                options.PollingInterval = null;
            })
            .UseLoader(_loader));
        services.AddHttpClient(HttpModelSourceOptions.DefaultHttpClientName)
            .ConfigureHttpClient(static client => client.DefaultRequestHeaders.Add("X-Model-Token", "let-me-in"));
        await using ServiceProvider provider = services.BuildServiceProvider();

        ZipModel model = await provider.GetRequiredKeyedService<IModelCache<ZipModel>>("remote").GetModelAsync();

        Assert.Contains(model.Entries, entry => entry.StartsWith("TransformerChain", StringComparison.Ordinal));
        Assert.Equal("let-me-in", _server.Requests[^1].Token);
    }

    [Theory]
    [InlineData(0.0, 54)]
    [InlineData(0.5, 60)]
    [InlineData(1.0, 66)]
    public void NextPollDelay_VariesTheIntervalByUpToTheJitter(double random, int expectedSeconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), PollingClock.NextDelay(TimeSpan.FromSeconds(60), 0.1, random));
    }

    private HttpModelSource Source(Action<HttpModelSourceOptions>? configure = null)
    {
        var options = new HttpModelSourceOptions { Uri = _server.ModelUri, AllowHttp = true, PollingInterval = PollingInterval, PollingJitter = 0 };
        configure?.Invoke(options);
        return new HttpModelSource(options, _time, _logs);
    }

    private ModelCache<ZipModel> CreateCache(HttpModelSource source, Action<ModelOptions<ZipModel>>? configure = null)
    {
        var options = new ModelOptions<ZipModel> { Source = source, Loader = _loader, DrainDelay = TimeSpan.Zero, RetryBaseDelay = TimeSpan.Zero };
        configure?.Invoke(options);
        return new ModelCache<ZipModel>("remote", options, _time, _logs);
    }

    private static Task<ModelReloadedEventArgs> NextReload(ModelCache<ZipModel> cache)
    {
        var signal = new TaskCompletionSource<ModelReloadedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Reloaded += (_, args) => signal.TrySetResult(args);
        return signal.Task.WaitAsync(LogSignals.Timeout);
    }
}
