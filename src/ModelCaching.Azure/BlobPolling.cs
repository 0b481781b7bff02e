using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using ModelCaching.Reload;

namespace ModelCaching;

/// <summary>
/// The polling clock of one blob source: a timer on the injected <see cref="TimeProvider"/> that fires the change token
/// at the interval, varied by the jitter (the same rule as <see cref="HttpModelSource"/>), so a fleet does not ask at
/// the same moment. Started by the first <see cref="GetToken"/>; stopped by <see cref="Dispose"/>.
/// </summary>
internal sealed class BlobPolling(TimeSpan interval, double jitter, TimeProvider timeProvider, ILogger logger, string description) : IDisposable
{
    private readonly ChangeSignal _signal = new();
    private readonly Lock _gate = new();
    private ITimer? _timer;
    private bool _disposed;

    public IChangeToken? GetToken()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }

            if (_timer is null)
            {
                _timer = timeProvider.CreateTimer(static state => ((BlobPolling)state!).OnPoll(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                ScheduleNextLocked();
            }
        }

        return _signal.GetToken();
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

    private void OnPoll()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            ScheduleNextLocked();
        }

        try
        {
            _signal.Fire();
        }
        catch (AggregateException ex)
        {
            AzureBlobLog.ChangeCallbackFailed(logger, ex, description);
        }
    }

    private void ScheduleNextLocked()
    {
        TimeSpan delay = HttpModelSource.NextPollDelay(interval, jitter, Random.Shared.NextDouble());
        _timer!.Change(delay, Timeout.InfiniteTimeSpan);
        AzureBlobLog.PollScheduled(logger, description, delay);
    }
}
