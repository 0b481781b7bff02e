namespace ModelCaching;

/// <summary>
/// A snapshot of what one cache has done since it was created.
/// </summary>
public sealed class ModelCacheStatistics
{
    /// <summary>Calls served from memory by <c>GetModel</c>, <c>GetModelAsync</c> or <c>Acquire</c>; 0 when <see cref="ModelOptions.TrackHits"/> is off.</summary>
    public long Hits { get; init; }

    /// <summary>Calls that found no model loaded and had to wait for (or start) a load.</summary>
    public long Misses { get; init; }

    /// <summary>Loads that produced a new serving generation.</summary>
    public long Loads { get; init; }

    /// <summary>Load attempts that failed.</summary>
    public long LoadFailures { get; init; }

    /// <summary>Times the model was unloaded (idle timeout or <see cref="IModelCache.Invalidate"/>).</summary>
    public long Unloads { get; init; }

    /// <summary>Leases not yet disposed, over all generations.</summary>
    public long ActiveLeases { get; init; }

    /// <summary>
    /// Swapped-out generations not yet disposed: at most one waiting out <see cref="ModelOptions.DrainDelay"/>, plus
    /// any that leases still pin.
    /// </summary>
    public int RetiredGenerations { get; init; }

    /// <summary>
    /// Whether a load attempt that timed out is still running (a step that ignores cancellation). It keeps its load
    /// slot, and the next attempt of this model starts only when it ends.
    /// </summary>
    public bool AbandonedLoadRunning { get; init; }

    /// <summary>The current state.</summary>
    public ModelCacheState State { get; init; }

    /// <summary>The serving version, or <see langword="null"/> when nothing is serving.</summary>
    public ModelVersion? Version { get; init; }

    /// <summary>The message of the last failure, or <see langword="null"/> when the last attempt succeeded.</summary>
    public string? LastError { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{State}, version {Version?.Id ?? "none"}: {Hits} hits, {Misses} misses, {Loads} loads, {LoadFailures} failures, {Unloads} unloads, {ActiveLeases} leases, {RetiredGenerations} retired";
}
