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
/// The timers of one cache, each made only when it is first needed: the retry after a failed load (at the first retry
/// armed), the refresh-ahead before the time-to-live ends, and the idle unload (when their options are set). The
/// serving slot arms and disarms them on its transitions (<see cref="IServingTimers"/>).
/// </summary>
/// <remarks>
/// The retry timer is made lazily because most models of a template never fail: a timer with its lock is about
/// 100 bytes a model that would otherwise never be armed. The timers call this object, which forwards to the model named
/// in the constructor or later by <see cref="Drive"/> (the serving slot is made with its timers before the loads they start).
/// </remarks>
internal sealed class ServingTimers : IServingTimers, ITimedModel, IDisposable
{
    private readonly TimeProvider _timeProvider;
    private readonly OneShotTimer? _refresh;
    private readonly IdleTimer? _idle;
    private readonly TimeSpan _refreshIn;
    private OneShotTimer? _retry;
    private int _disposed;

    // The misses counted at the last idle tick (-1 after a load: the next tick counts as use).
    private long _lastMisses = -1;

    // What the timers drive: set once, in the constructor or by Drive, before any load can arm them.
    private ITimedModel? _model;

    /// <param name="timeProvider">The clock of every timer.</param>
    /// <param name="options">Which timers the model needs (the refresh and idle ones when set; a retry when first armed).</param>
    /// <param name="model">What the timers drive, or <see langword="null"/> to name it later with <see cref="Drive"/>.</param>
    public ServingTimers(TimeProvider timeProvider, ModelOptions options, ITimedModel? model = null)
    {
        _timeProvider = timeProvider;
        _model = model;
        if (options.TimeToLive is { } ttl)
        {
            _refreshIn = ttl * options.RefreshAheadRatio;
            _refresh = new OneShotTimer(timeProvider, this, ModelLoadReason.RefreshAhead);
        }

        if (options.IdleTimeout is { } idle)
        {
            _idle = new IdleTimer(timeProvider, idle, this);
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

    /// <summary>Whether the retry timer has been made (a retry was armed once).</summary>
    internal bool HasRetryTimer => Volatile.Read(ref _retry) is not null;

    /// <inheritdoc />
    public void OnLoaded()
    {
        Volatile.Read(ref _retry)?.Disarm();
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
    public void ArmRetry(TimeSpan delay) => (Volatile.Read(ref _retry) ?? CreateRetry()).Arm(delay);

    /// <inheritdoc />
    public void OnUnloaded()
    {
        _refresh?.Disarm();
        Volatile.Read(ref _retry)?.Disarm();
    }

    /// <summary>At an idle tick: whether the misses counted changed since the last tick (and remembers them).</summary>
    public bool SawNewMisses(long misses) => Interlocked.Exchange(ref _lastMisses, misses) != misses;

    public void Dispose()
    {
        // A full fence between the flag and the read of _retry: a retry timer made concurrently is disposed by one side.
        Interlocked.Exchange(ref _disposed, 1);
        Volatile.Read(ref _retry)?.Dispose();
        _refresh?.Dispose();
        _idle?.Dispose();
    }

    private OneShotTimer CreateRetry()
    {
        var created = new OneShotTimer(_timeProvider, this, ModelLoadReason.Retry);
        OneShotTimer retry = Interlocked.CompareExchange(ref _retry, created, null) ?? created;
        if (Volatile.Read(ref _disposed) != 0)
        {
            // Disposed meanwhile: the timer never fires (Arm on a disposed timer does nothing).
            retry.Dispose();
        }

        return retry;
    }

    void ITimedModel.LoadInBackground(ModelLoadReason reason) => _model!.LoadInBackground(reason);

    IdleTickState ITimedModel.CheckIdle() => _model!.CheckIdle();

    void ITimedModel.UnloadIdle() => _model!.UnloadIdle();
}
