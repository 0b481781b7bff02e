using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using ModelCaching.Reload;

namespace ModelCaching;

/// <summary>
/// The polling clock of a remote source (HTTP here, Azure blobs in ModelCaching.Azure): a timer on the injected
/// <see cref="TimeProvider"/> that fires the change token at the interval, varied at random by ±jitter
/// (<see cref="NextDelay"/>), so a fleet does not ask at the same moment. Started by the first <see cref="GetToken"/>;
/// stopped by <see cref="Dispose"/> (safe to call more than once).
/// </summary>
internal sealed class PollingClock(TimeSpan interval, double jitter, TimeProvider timeProvider, ILogger logger, string description) : IDisposable
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
                _timer = timeProvider.CreateTimer(static state => ((PollingClock)state!).OnPoll(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
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
            ReloadLog.ChangeCallbackFailed(logger, ex, description);
        }
    }

    private void ScheduleNextLocked()
    {
        TimeSpan delay = NextDelay(interval, jitter, Random.Shared.NextDouble());
        _timer!.Change(delay, Timeout.InfiniteTimeSpan);
        ReloadLog.PollScheduled(logger, description, delay);
    }

    /// <summary>The next polling delay: <paramref name="interval"/>, varied by ±<paramref name="jitter"/> (<paramref name="random"/> in [0, 1)).</summary>
    internal static TimeSpan NextDelay(TimeSpan interval, double jitter, double random) =>
        interval * (1 + (jitter * ((2 * random) - 1)));

    /// <summary>A polling interval as the sources' options accept it: positive, or <see langword="null"/> not to poll.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    internal static TimeSpan? CheckInterval(TimeSpan? value, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (value is { } interval)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, name);
        }

        return value;
    }

    /// <summary>A polling jitter as the sources' options accept it: between 0 and 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not between 0 and 1.</exception>
    internal static double CheckJitter(double value, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(value))] string? name = null) =>
        double.IsNaN(value) || value < 0 || value > 1
            ? throw new ArgumentOutOfRangeException(name, value, "The polling jitter must be between 0 and 1.")
            : value;
}
