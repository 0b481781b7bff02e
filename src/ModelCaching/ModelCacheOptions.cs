namespace ModelCaching;

/// <summary>
/// Settings shared by every model of the cache. Binds from the root of the <c>ModelCache</c> configuration section.
/// </summary>
public sealed class ModelCacheOptions
{
    /// <summary>
    /// How many loads may run at once over all models, so that a fleet of models does not load
    /// (and hold twice in memory) all at once.
    /// <value>The default is <see cref="Environment.ProcessorCount"/>.</value>
    /// </summary>
    public int MaxConcurrentLoads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Whether the host's start-up fails when an eager model with <see cref="ModelOptions.WaitForStartup"/>
    /// cannot be loaded. When <see langword="false"/>, the failure is logged, the readiness check reports
    /// Unhealthy and the load is retried in the background.
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool ThrowOnStartupFailure { get; set; }
}
