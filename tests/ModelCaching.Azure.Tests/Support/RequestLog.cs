using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;

namespace ModelCaching.Azure.Tests.Support;

/// <summary>
/// Records each request the storage SDK sends (method and status), so a test can tell a HEAD from a GET: the size check
/// happens before any GET of the body. Added to the client's options per retry, so retries are recorded too.
/// </summary>
public sealed class RequestLog : HttpPipelinePolicy
{
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentQueue<Uri> _uris = new();

    public IReadOnlyList<string> Requests => [.. _requests];

    public IReadOnlyList<Uri> Uris => [.. _uris];

    public int Count(string method) => _requests.Count(r => r.StartsWith(method + " ", StringComparison.Ordinal));

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ProcessNext(message, pipeline);
        Record(message);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await ProcessNextAsync(message, pipeline);
        Record(message);
    }

    private void Record(HttpMessage message)
    {
        _uris.Enqueue(message.Request.Uri.ToUri());
        _requests.Enqueue($"{message.Request.Method} {message.Request.Uri.Path} {(message.HasResponse ? message.Response.Status : 0)}");
    }
}
