using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace ModelCaching.Tests.Http;

/// <summary>
/// A real HTTP server on 127.0.0.1 (<see cref="HttpListener"/>, in the BCL, so the test project needs no ASP.NET
/// reference) whose answers a test sets with <see cref="Respond"/>; it records the requests it got.
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _accepting;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentQueue<TaskCompletionSource<RecordedRequest>> _requestWaiters = new();
    private volatile Func<HttpListenerRequest, HttpListenerResponse, CancellationToken, Task> _handler =
        static (_, response, _) => { response.StatusCode = 404; return Task.CompletedTask; };

    public LoopbackHttpServer()
    {
        // A free port from the OS; another process could take it before we bind, so try a few.
        for (int attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                _listener = listener;
                BaseAddress = new Uri($"http://127.0.0.1:{port}/");
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }

        _accepting = AcceptAsync();
    }

    public Uri BaseAddress { get; }

    public Uri ModelUri => new(BaseAddress, "models/iris.zip");

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Sets how every following request is answered.</summary>
    public void Respond(Func<HttpListenerRequest, HttpListenerResponse, CancellationToken, Task> handler) => _handler = handler;

    /// <summary>Answers 200 with <paramref name="body"/>, an optional ETag, and 304 to a matching If-None-Match.</summary>
    public void RespondWithModel(byte[] body, string? etag = null, string contentType = "application/zip", DateTimeOffset? lastModified = null) =>
        Respond(async (request, response, cancellationToken) =>
        {
            if (etag is not null && request.Headers["If-None-Match"] == etag)
            {
                response.StatusCode = 304;
                return;
            }

            if (lastModified is { } modified && request.Headers["If-Modified-Since"] is { } since && DateTimeOffset.Parse(since) >= modified.AddTicks(-(modified.Ticks % TimeSpan.TicksPerSecond)))
            {
                response.StatusCode = 304;
                return;
            }

            response.ContentType = contentType;
            if (etag is not null)
            {
                response.Headers["ETag"] = etag;
            }

            if (lastModified is { } lm)
            {
                response.Headers["Last-Modified"] = lm.ToString("R");
            }

            response.ContentLength64 = body.Length;
            await response.OutputStream.WriteAsync(body, cancellationToken);
        });

    /// <summary>Completes with the next request the server receives (before it is answered).</summary>
    public Task<RecordedRequest> NextRequest()
    {
        var waiter = new TaskCompletionSource<RecordedRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requestWaiters.Enqueue(waiter);
        return waiter.Task.WaitAsync(TimeSpan.FromSeconds(15));
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Stop();
        _listener.Close();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = HandleAsync(context);
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var recorded = new RecordedRequest(context.Request.HttpMethod, context.Request.Url!.PathAndQuery, context.Request.Headers["If-None-Match"], context.Request.Headers["If-Modified-Since"], context.Request.Headers["X-Model-Token"]);
        _requests.Enqueue(recorded);
        while (_requestWaiters.TryDequeue(out TaskCompletionSource<RecordedRequest>? waiter))
        {
            waiter.TrySetResult(recorded);
        }

        try
        {
            await _handler(context.Request, context.Response, _stopping.Token);
            context.Response.Close();
        }
        catch (Exception)
        {
            // The client went away (a timeout test) or the server is stopping.
            context.Response.Abort();
        }
    }
}

/// <summary>What the server saw of one request.</summary>
public sealed record RecordedRequest(string Method, string PathAndQuery, string? IfNoneMatch, string? IfModifiedSince, string? Token);
