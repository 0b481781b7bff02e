namespace ModelCaching.ML;

/// <summary>What a prediction does when every pooled engine is in use and the pool is at its maximum.</summary>
public enum PoolExhaustionPolicy
{
    /// <summary>
    /// Create one more engine for this call and drop it when it comes back, so no request waits; the pool
    /// shrinks back to its maximum as calls end.
    /// </summary>
    CreateExtra = 0,

    /// <summary>
    /// Wait for an engine to come back, up to <see cref="PredictionPoolOptions.WaitTimeout"/>, then throw
    /// <see cref="TimeoutException"/>. Bounds memory and CPU under overload.
    /// </summary>
    Wait = 1,
}
