namespace ModelCaching.ML;

/// <summary>A snapshot of a prediction pool's counters (<see cref="PredictionPool{TData, TPrediction}.GetStatistics"/>).</summary>
/// <remarks>
/// Read-only: only the pool makes one. A plain struct rather than a record, so its surface is the counters themselves
/// (issue 20: no init accessors, equality operators or printer nobody outside the pool needs).
/// </remarks>
public readonly struct PredictionPoolStatistics
{
    /// <summary>Engines created since the pool was made, extra ones included.</summary>
    public long EnginesCreated { get; internal init; }

    /// <summary>Engines disposed: of old generations, extra ones, faulted ones, and at disposal.</summary>
    public long EnginesDisposed { get; internal init; }

    /// <summary>Engines dropped because a prediction on them threw.</summary>
    public long EnginesFaulted { get; internal init; }

    /// <summary>Engines created beyond the maximum under <see cref="PoolExhaustionPolicy.CreateExtra"/>.</summary>
    public long ExtraEnginesCreated { get; internal init; }

    /// <summary>Predictions that waited for an engine under <see cref="PoolExhaustionPolicy.Wait"/>.</summary>
    public long Waits { get; internal init; }

    /// <summary>Model generations the pool has served engines for.</summary>
    public long Generations { get; internal init; }

    /// <summary>Engines alive now (idle or in use), in every generation.</summary>
    public long LiveEngines => EnginesCreated - EnginesDisposed;
}
