using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>The settings of a pool of prediction engines.</summary>
public sealed class PredictionPoolOptions
{
    private int _maximumEngines = Environment.ProcessorCount * 2;
    private TimeSpan _waitTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many engines the pool keeps for one model generation. Engines are created on demand, up to this number.
    /// <value>The default is twice the number of processors.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaximumEngines
    {
        get => _maximumEngines;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maximumEngines = value;
        }
    }

    /// <summary>
    /// What a prediction does when all engines are in use.
    /// <value>The default is <see cref="PoolExhaustionPolicy.CreateExtra"/>.</value>
    /// </summary>
    public PoolExhaustionPolicy ExhaustionPolicy { get; set; } = PoolExhaustionPolicy.CreateExtra;

    /// <summary>
    /// How long a prediction waits for an engine under <see cref="PoolExhaustionPolicy.Wait"/>.
    /// <value>The default is 5 seconds.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative (other than <see cref="Timeout.InfiniteTimeSpan"/>).</exception>
    public TimeSpan WaitTimeout
    {
        get => _waitTimeout;
        set
        {
            if (value < TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The wait timeout must be zero or more, or Timeout.InfiniteTimeSpan.");
            }

            _waitTimeout = value;
        }
    }

    /// <summary>
    /// ML.NET's options for each engine (schema definitions, missing columns).
    /// <value>The default is <see langword="null"/>: ML.NET's defaults.</value>
    /// </summary>
    public PredictionEngineOptions? EngineOptions { get; set; }

    internal PredictionPoolOptions Clone() => new()
    {
        _maximumEngines = _maximumEngines,
        _waitTimeout = _waitTimeout,
        ExhaustionPolicy = ExhaustionPolicy,
        EngineOptions = EngineOptions,
    };
}
