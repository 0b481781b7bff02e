using ModelCaching.Generations;
using ModelCaching.Loading;

namespace ModelCaching.Expiration;

/// <summary>What a cache lets its timers do: load in the background, say whether it was used, unload when idle.</summary>
internal interface ITimedModel
{
    /// <summary>Starts a load that nobody waits for (a retry, a refresh-ahead).</summary>
    void LoadInBackground(ModelLoadReason reason);

    /// <summary>At an idle tick: whether the model was used since the last one (<see cref="ServingTimers.SawNewMisses"/>).</summary>
    IdleTickState CheckIdle();

    /// <summary>Unloads the model after <see cref="ModelOptions.IdleTimeout"/> without use.</summary>
    void UnloadIdle();
}

/// <summary>
/// The timers of one cache, each made only when its option is set: the retry after a failed load, the refresh-ahead before
/// the time-to-live ends, and the idle unload. The serving slot arms and disarms them on its transitions (<see cref="IServingTimers"/>).
/// </summary>
internal sealed class ServingTimers : IServingTimers, IDisposable
{
    private readonly OneShotTimer _retry;
    private readonly OneShotTimer? _refresh;
    private readonly IdleTimer? _idle;
    private readonly TimeSpan _refreshIn;

    // The misses counted at the last idle tick (-1 after a load: the next tick counts as use).
    private long _lastMisses = -1;

    // What the timers drive: set once, by Drive, before any load can arm them.
    private ITimedModel? _model;

    /// <param name="timeProvider">The clock of every timer.</param>
    /// <param name="options">Which timers the model needs (a retry always; the refresh and idle ones when set).</param>
    /// <param name="model">What the timers drive, or <see langword="null"/> to name it later with <see cref="Drive"/>
    /// (the serving slot is made with its timers before the loads they start).</param>
    public ServingTimers(TimeProvider timeProvider, ModelOptions options, ITimedModel? model = null)
    {
        _model = model;
        _retry = new OneShotTimer(timeProvider, () => _model!.LoadInBackground(ModelLoadReason.Retry));
        if (options.TimeToLive is { } ttl)
        {
            _refreshIn = ttl * options.RefreshAheadRatio;
            _refresh = new OneShotTimer(timeProvider, () => _model!.LoadInBackground(ModelLoadReason.RefreshAhead));
        }

        if (options.IdleTimeout is { } idle)
        {
            _idle = new IdleTimer(timeProvider, idle, () => _model!.CheckIdle(), () => _model!.UnloadIdle());
        }
    }

    /// <summary>Names what the timers drive (once, before any timer is armed).</summary>
    public void Drive(ITimedModel model)
    {
        if (Interlocked.CompareExchange(ref _model, model, null) is not null)
        {
            throw new InvalidOperationException("The timers already drive a model.");
        }
    }

    /// <inheritdoc />
    public void OnLoaded()
    {
        _retry.Disarm();
        ArmRefresh();
        if (_idle is not null)
        {
            Volatile.Write(ref _lastMisses, -1);
            _idle.Start();
        }
    }

    /// <inheritdoc />
    public void ArmRefresh() => _refresh?.Arm(_refreshIn);

    /// <inheritdoc />
    public void ArmRetry(TimeSpan delay) => _retry.Arm(delay);

    /// <inheritdoc />
    public void OnUnloaded()
    {
        _refresh?.Disarm();
        _retry.Disarm();
    }

    /// <summary>At an idle tick: whether the misses counted changed since the last tick (and remembers them).</summary>
    public bool SawNewMisses(long misses) => Interlocked.Exchange(ref _lastMisses, misses) != misses;

    public void Dispose()
    {
        _retry.Dispose();
        _refresh?.Dispose();
        _idle?.Dispose();
    }
}
