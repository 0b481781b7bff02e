namespace ModelCaching.Redis.Instance;

/// <summary>
/// Asks for the membership entry a short while after a placed model's load, once for a burst of them: with a thousand
/// tenants an entry per load would be a write per request of a cold name. The heartbeat writes it in any case.
/// </summary>
internal sealed class DebouncedReport : IDisposable
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(500);
    private readonly FleetRequests _requests;
    private readonly TimeSpan _delay;
    private readonly ITimer _timer;
    private int _armed;

    public DebouncedReport(FleetRequests requests, TimeProvider time, TimeSpan heartbeat)
    {
        _requests = requests;
        _delay = heartbeat < MaxDelay ? heartbeat : MaxDelay;
        _timer = time.CreateTimer(static state => ((DebouncedReport)state!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Asks for a report after the delay, unless one is asked for already.</summary>
    public void Request()
    {
        if (Interlocked.Exchange(ref _armed, 1) == 0)
        {
            _timer.Change(_delay, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Fire()
    {
        Volatile.Write(ref _armed, 0);
        _requests.Report();
    }
}
