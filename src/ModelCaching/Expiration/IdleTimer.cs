namespace ModelCaching.Expiration;

/// <summary>What the cache says at an idle tick.</summary>
internal enum IdleTickState
{
    /// <summary>Not a candidate for an idle unload now (nothing serves, a load runs, or the model is kept by fail-safe).</summary>
    NotApplicable,

    /// <summary>Used (or missed, or loading) since the last tick.</summary>
    Active,

    /// <summary>Nobody used the model since the last tick.</summary>
    Quiet,
}

/// <summary>
/// Unloads a model nobody used for <see cref="ModelOptions.IdleTimeout"/>. Four ticks per timeout: the model goes between
/// 1× and 1.25× the timeout after its last use. Counting quiet ticks rather than reading the clock in the callback keeps
/// that true when ticks run late or back to back, as they do after a sleep or with a test clock; and the hit path never
/// reads the clock: it only sets a flag that the tick reads and clears. Each tick asks <see cref="ITimedModel.CheckIdle"/>
/// and, after a timeout's worth of quiet ticks, calls <see cref="ITimedModel.UnloadIdle"/>.
/// </summary>
internal sealed class IdleTimer(TimeProvider timeProvider, TimeSpan idleTimeout, ITimedModel model) : IDisposable
{
    public const int TicksPerTimeout = 4;

    private readonly Lock _gate = new();
    private ITimer? _timer;
    private int _quietTicks;
    private bool _disposed;

    /// <summary>Starts ticking (once), and forgets the quiet ticks counted so far.</summary>
    public void Start()
    {
        lock (_gate)
        {
            _quietTicks = 0;
            if (_timer is null && !_disposed)
            {
                TimeSpan period = idleTimeout / TicksPerTimeout;
                _timer = timeProvider.CreateTimer(static state => ((IdleTimer)state!).OnTick(), this, period, period);
            }
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

    private void OnTick()
    {
        IdleTickState state = model.CheckIdle();
        lock (_gate)
        {
            if (state == IdleTickState.NotApplicable)
            {
                return;
            }

            if (state == IdleTickState.Active)
            {
                _quietTicks = 0;
                return;
            }

            if (++_quietTicks < TicksPerTimeout)
            {
                return;
            }

            _quietTicks = 0;
        }

        model.UnloadIdle();
    }
}
