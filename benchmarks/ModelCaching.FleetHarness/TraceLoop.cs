using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace ModelCaching.FleetHarness;

/// <summary>One request of a <see cref="TraceLoop"/>.</summary>
/// <param name="At">When it was sent, since the loop started.</param>
/// <param name="Tenant">The tenant's index.</param>
/// <param name="Latency">How long the answer took.</param>
/// <param name="Status">The HTTP status, or 0 when the request threw.</param>
/// <param name="AnsweredBy">The instance that answered (the <c>X-ModelCaching-Instance</c> header), or null.</param>
/// <param name="Problem">Why it failed, or null: an error status, an exception, or an answer from another tenant's model.</param>
public sealed record TraceRequest(TimeSpan At, int Tenant, TimeSpan Latency, int Status, string? AnsweredBy, string? Problem)
{
    public bool Succeeded => Problem is null;
}

/// <summary>
/// <c>POST /tenants/{id}/predict</c> with the models README's known trip, for the tenants of a trace in order, from
/// <c>concurrency</c> workers, until the trace is done (or, with <c>repeat</c>, until stopped). Each answer is checked: a
/// 200 whose fare is the tenant's own model's (<see cref="TenantModels.TenantOf"/>); anything else is a failure, kept with
/// its reason and time.
/// </summary>
public sealed class TraceLoop : IAsyncDisposable
{
    private readonly int[] _trace;
    private readonly Func<int, HttpClient> _target;
    private readonly bool _repeat;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<TraceRequest> _requests = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task[] _workers;
    private long _next = -1;
    private long _failed;

    /// <param name="trace">The tenants' indexes, in order.</param>
    /// <param name="target">The client a tenant's request goes through (the router's, or an instance's).</param>
    /// <param name="concurrency">Requests in flight at once.</param>
    /// <param name="repeat">Start the trace again at its end, until <see cref="StopAsync"/>.</param>
    public TraceLoop(int[] trace, Func<int, HttpClient> target, int concurrency, bool repeat = false)
    {
        _trace = trace;
        _target = target;
        _repeat = repeat;
        _workers = [.. Enumerable.Range(0, concurrency).Select(_ => Task.Run(RunAsync))];
    }

    /// <summary>Time since the loop started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    public long Sent => Math.Min(Interlocked.Read(ref _next) + 1, _repeat ? long.MaxValue : _trace.Length);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>The requests answered so far.</summary>
    public IReadOnlyCollection<TraceRequest> Requests => _requests;

    /// <summary>Waits until the trace is done (without <c>repeat</c>), or stops the loop; returns every request.</summary>
    public async Task<IReadOnlyList<TraceRequest>> CompleteAsync()
    {
        await Task.WhenAll(_workers);
        return [.. _requests.OrderBy(r => r.At)];
    }

    /// <summary>Stops the loop (requests in flight finish) and returns every request.</summary>
    public async Task<IReadOnlyList<TraceRequest>> StopAsync()
    {
        await _stop.CancelAsync();
        return await CompleteAsync();
    }

    /// <summary>Waits (bounded) until <paramref name="count"/> more requests have been answered.</summary>
    public async Task WaitForMoreAsync(int count, TimeSpan bound)
    {
        int target = _requests.Count + count;
        using var cancel = new CancellationTokenSource(bound);
        while (_requests.Count < target)
        {
            if (cancel.IsCancellationRequested || _workers.All(w => w.IsCompleted))
            {
                throw new TimeoutException($"{count} more requests were not answered within {bound} ({_requests.Count} in all, {Failed} failed)");
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            long n = Interlocked.Increment(ref _next);
            if (n >= _trace.Length && !_repeat)
            {
                return;
            }

            int tenant = _trace[n % _trace.Length];
            TraceRequest request = await SendAsync(_target(tenant), tenant);
            if (!request.Succeeded)
            {
                Interlocked.Increment(ref _failed);
            }

            _requests.Enqueue(request);
        }
    }

    private async Task<TraceRequest> SendAsync(HttpClient client, int tenant)
    {
        TimeSpan at = _clock.Elapsed;
        long start = Stopwatch.GetTimestamp();
        try
        {
            using var body = new StringContent(TenantModels.KnownTrip, Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await client.PostAsync($"/tenants/{TenantModels.Id(tenant)}/predict", body, CancellationToken.None);
            string text = await response.Content.ReadAsStringAsync(CancellationToken.None);
            TimeSpan latency = Stopwatch.GetElapsedTime(start);
            string? answeredBy = response.Headers.TryGetValues("X-ModelCaching-Instance", out IEnumerable<string>? values) ? values.FirstOrDefault() : null;
            int status = (int)response.StatusCode;
            string? problem = status != 200
                ? $"{status} from {answeredBy ?? "?"}: {Shorten(text)}"
                : TenantModels.TenantOf(JsonDocument.Parse(text).RootElement.GetProperty("fareAmount").GetSingle()) is var from && from != tenant
                    ? $"tenant {TenantModels.Id(tenant)} answered by {(from < 0 ? "no tenant's model" : TenantModels.Id(from))}'s model ({answeredBy ?? "?"}): {Shorten(text)}"
                    : null;
            return new TraceRequest(at, tenant, latency, status, answeredBy, problem);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return new TraceRequest(at, tenant, Stopwatch.GetElapsedTime(start), 0, null, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "…" : text;
}
