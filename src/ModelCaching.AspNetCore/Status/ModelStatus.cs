namespace ModelCaching.AspNetCore;

/// <summary>
/// What the status endpoint reports about one model: its state, the serving version, its counters and
/// its most recent load attempts.
/// </summary>
/// <param name="Name">The model's name.</param>
/// <param name="ModelType">The CLR type of the model.</param>
/// <param name="State">The lifecycle state (<see cref="ModelCacheState"/>, <c>Evicted</c> included), as text.</param>
/// <param name="Source">Where the model is loaded from.</param>
/// <param name="Version">The serving version, or <see langword="null"/> when nothing is serving.</param>
/// <param name="Hits">Calls served from memory.</param>
/// <param name="Misses">Calls that had to wait for a load.</param>
/// <param name="Loads">Loads that produced a new serving generation.</param>
/// <param name="LoadFailures">Load attempts that failed.</param>
/// <param name="ActiveLeases">Leases not yet disposed.</param>
/// <param name="RetiredGenerations">Swapped-out generations not yet disposed (draining, or pinned by leases).</param>
/// <param name="LastError">The message of the last failure, or <see langword="null"/> when the last attempt succeeded.</param>
/// <param name="History">The most recent load attempts, newest first.</param>
internal sealed record ModelStatus(
    string Name,
    string ModelType,
    string State,
    string Source,
    ModelVersionStatus? Version,
    long Hits,
    long Misses,
    long Loads,
    long LoadFailures,
    long ActiveLeases,
    int RetiredGenerations,
    string? LastError,
    IReadOnlyList<ModelLoadAttempt> History)
{
    /// <summary>The estimated size of the serving generation in bytes (its <see cref="ModelVersion.SizeBytes"/>), or 0 when nothing is serving.</summary>
    public long SizeBytes { get; init; }

    /// <summary>
    /// Whether retired generations (swapped out, or evicted) are still held by leases, pooled engines or the drain
    /// delay: their memory is not free yet, and counts as draining in the model's memory budget.
    /// </summary>
    public bool Draining { get; init; }

    /// <summary>Takes a snapshot of <paramref name="cache"/>.</summary>
    /// <param name="cache">The model cache to describe.</param>
    /// <param name="historyLength">How many load attempts to include, newest first.</param>
    public static ModelStatus From(IModelCache cache, int historyLength)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentOutOfRangeException.ThrowIfNegative(historyLength);

        ModelCacheStatistics statistics = cache.GetStatistics();
        IReadOnlyList<ModelLoadRecord> records = cache.GetHistory();
        int count = Math.Min(historyLength, records.Count);
        var history = new ModelLoadAttempt[count];
        for (int i = 0; i < count; i++)
        {
            history[i] = ModelLoadAttempt.From(records[records.Count - 1 - i]);
        }

        return new ModelStatus(
            cache.Name,
            cache.ModelType.FullName ?? cache.ModelType.Name,
            statistics.State.ToString(),
            cache.SourceDescription,
            statistics.Version is { } version ? ModelVersionStatus.From(version) : null,
            statistics.Hits,
            statistics.Misses,
            statistics.Loads,
            statistics.LoadFailures,
            statistics.ActiveLeases,
            statistics.RetiredGenerations,
            statistics.LastError,
            history)
        {
            SizeBytes = statistics.Version?.SizeBytes ?? 0,
            Draining = statistics.RetiredGenerations > 0,
        };
    }
}
