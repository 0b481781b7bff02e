namespace ModelCaching.Benchmarks.Policies;

/// <summary>The three policies a user chooses between, as the benchmarks register them.</summary>
public enum CachePolicy
{
    /// <summary><c>.Lazy()</c>: the first call loads the model.</summary>
    Lazy,

    /// <summary><c>.Eager(waitForStartup: true)</c>: host start-up loads the model.</summary>
    Eager,

    /// <summary><c>.Lazy().Expiring(timeToLive, idleTimeout)</c>: refresh-ahead before the time-to-live, unload when idle.</summary>
    Expiring,
}
