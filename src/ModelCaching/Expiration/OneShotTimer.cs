namespace ModelCaching.Expiration;

/// <summary>A timer on the injected <see cref="TimeProvider"/> that fires once per <see cref="Arm"/>: refresh-ahead and retries.</summary>
internal sealed class OneShotTimer(TimeProvider timeProvider, Action onDue) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Action _onDue = onDue;
    private ITimer? _timer;
    private bool _disposed;

    /// <summary>Fires <c>onDue</c> after <paramref name="delay"/>, replacing any earlier arming.</summary>
    public void Arm(TimeSpan delay)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _timer ??= timeProvider.CreateTimer(static state => ((OneShotTimer)state!)._onDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    public void Disarm()
    {
        lock (_gate)
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
        }
    }
}
