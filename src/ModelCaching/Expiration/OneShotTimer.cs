using ModelCaching.Loading;

namespace ModelCaching.Expiration;

/// <summary>
/// A timer on the injected <see cref="TimeProvider"/> that fires once per <see cref="Arm"/>: refresh-ahead and retries.
/// Firing starts a background load of <paramref name="model"/> for <paramref name="reason"/>; the model and the reason
/// are held rather than a callback, so a timer costs no delegate or closure per model.
/// </summary>
internal sealed class OneShotTimer(TimeProvider timeProvider, ITimedModel model, ModelLoadReason reason) : IDisposable
{
    private readonly Lock _gate = new();
    private ITimer? _timer;
    private bool _disposed;

    /// <summary>Starts a background load after <paramref name="delay"/>, replacing any earlier arming.</summary>
    public void Arm(TimeSpan delay)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _timer ??= timeProvider.CreateTimer(static state => ((OneShotTimer)state!).OnDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
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

    private void OnDue() => model.LoadInBackground(reason);
}
