namespace ModelCaching.Samples.WebApi.Tests.Support;

/// <summary>
/// <c>POST /predict</c> to each instance in a loop of its own until stopped, counting answers: a prediction that is not a
/// 200 with a fare, or a request that throws, is a failure. The traffic that must go on while the control plane is down.
/// </summary>
internal sealed class HttpPredictionLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;
    private readonly long[] _served;
    private long _failed;
    private string? _firstFailure;

    public HttpPredictionLoop(IReadOnlyList<SampleProcess> instances)
    {
        _served = new long[instances.Count];
        _loops = [.. instances.Select((instance, i) => Task.Run(() => RunAsync(instance, i)))];
    }

    public long Failed => Interlocked.Read(ref _failed);

    public string? FirstFailure => Volatile.Read(ref _firstFailure);

    /// <summary>Waits (bounded) until every instance answered more predictions since the call.</summary>
    public async Task WaitForMoreOnEveryInstanceAsync()
    {
        long[] before = [.. _served.Select((_, i) => Interlocked.Read(ref _served[i]))];
        using var bound = new CancellationTokenSource(SampleFleet.SignalBound);
        while (before.Where((count, i) => Interlocked.Read(ref _served[i]) <= count + 2).Any())
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"Predictions did not go on within {SampleFleet.SignalBound}: served {string.Join(", ", _served)}, failed {Failed} ({FirstFailure})");
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }

    /// <summary>Stops the loops; returns how many predictions were served in all, and how many failed.</summary>
    public async Task<(long Served, long Failed)> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        return (_served.Sum(), Failed);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }

    private async Task RunAsync(SampleProcess instance, int index)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using HttpResponseMessage response = await instance.Client.PostAsync("/predict", TaxiTrips.Json(TaxiTrips.KnownTrip), CancellationToken.None);
                string body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                if (response.IsSuccessStatusCode && body.Contains("\"fareAmount\"", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _served[index]);
                }
                else
                {
                    Fail($"port {instance.Port}: {(int)response.StatusCode} {body}");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Fail($"port {instance.Port}: {ex.Message}");
            }

            await Task.Delay(2, CancellationToken.None); // paced: the 2-core machine also runs the three instances
        }
    }

    private void Fail(string why)
    {
        Interlocked.Increment(ref _failed);
        Interlocked.CompareExchange(ref _firstFailure, why, null);
    }
}
