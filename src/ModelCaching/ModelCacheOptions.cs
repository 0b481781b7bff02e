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
    /// The longest a load waits for one of the <see cref="MaxConcurrentLoads"/> slots before it fails with a
    /// <see cref="ModelLoadException"/> (a <see cref="TimeoutException"/> inside) saying how many loads were ahead of it.
    /// Loads wait in the order they were asked for. Its own <see cref="ModelOptions.LoadTimeout"/> starts once a load has its slot.
    /// <value>The default is 1 minute.</value>
    /// </summary>
    public TimeSpan LoadQueueTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A limit, in bytes, on the memory of all models of the provider (by their measured size, see
    /// <see cref="ModelOptions.SizeMeasure"/>), or <see langword="null"/> for none. Before a load would go over it, models are
    /// evicted, cheapest to lose first (docs/many-models.md); pinned and eager models never are. A template with a budget
    /// of its own (<see cref="ModelTemplateOptions.MemoryBudgetBytes"/>) keeps its models under that one instead.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public long? MemoryBudgetBytes { get; set; }

    /// <summary>
    /// Whether the host's start-up fails when an eager model with <see cref="ModelOptions.WaitForStartup"/>
    /// cannot be loaded. When <see langword="false"/>, the failure is logged, the readiness check reports
    /// Unhealthy and the load is retried in the background.
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool ThrowOnStartupFailure { get; set; }
}
