namespace ModelCaching.ML;

/// <summary>A snapshot of a prediction pool's counters.</summary>
public readonly record struct PredictionPoolStatistics
{
    /// <summary>Engines created since the pool was made, extra ones included.</summary>
    public long EnginesCreated { get; init; }

    /// <summary>Engines disposed: of old generations, extra ones, faulted ones, and at disposal.</summary>
    public long EnginesDisposed { get; init; }

    /// <summary>Engines dropped because a prediction on them threw.</summary>
    public long EnginesFaulted { get; init; }

    /// <summary>Engines created beyond the maximum under <see cref="PoolExhaustionPolicy.CreateExtra"/>.</summary>
    public long ExtraEnginesCreated { get; init; }

    /// <summary>Predictions that waited for an engine under <see cref="PoolExhaustionPolicy.Wait"/>.</summary>
    public long Waits { get; init; }

    /// <summary>Model generations the pool has served engines for.</summary>
    public long Generations { get; init; }

    /// <summary>Engines alive now (idle or in use), in every generation.</summary>
    public long LiveEngines => EnginesCreated - EnginesDisposed;
}
