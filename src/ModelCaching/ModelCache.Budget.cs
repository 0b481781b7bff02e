using ModelCaching.Budget;
using ModelCaching.Generations;
using ModelCaching.Loading;

namespace ModelCaching;

// The cache's side of a memory budget: a load reserves its model's estimated size before it builds it, the new
// generation is charged its measured size, and the budget may evict the model (an unload) to make room for another.
public sealed partial class ModelCache<TModel>
{
    // Uses (hits + misses) already counted by the budget; read and written under the budget's lock only.
    private long _usesCounted;

    // The size of the last generation, the estimate for the next load of a model measured after it is built.
    private long _lastSize;

    bool IBudgetedCache.CanEvict
    {
        get
        {
            if (_options.Pinned || _options.Policy == ModelLoadPolicy.Eager || _coordinator.IsLoading)
            {
                return false;
            }

            // Read without the cache's lock: the budget asks under its own lock, and a swap or a disposal (under the
            // cache's lock) may charge the budget, so taking both would invert their order. A stale answer is harmless:
            // Evict re-checks under the cache's lock. Degraded: the last good model is what fail-safe keeps.
            return !Volatile.Read(ref _disposed) && _current is not null && _state == ModelCacheState.Ready;
        }
    }

    bool IBudgetedCache.Evict() => Unload(MemoryBudgetReason, ModelCacheState.Evicted);

    long IBudgetedCache.TakeUses()
    {
        long total = _hits.Sum() + Interlocked.Read(ref _misses);
        long uses = total - _usesCounted;
        _usesCounted = total;
        return uses;
    }

    /// <summary>
    /// Reserves the model's estimated size in its budget before it is built: the content's length, or the last
    /// generation's measured size when the size is measured after the build. Waits within the load's timeout.
    /// </summary>
    private MemoryBudget.Reservation? ReserveMemory(LoadAttempt<TModel> attempt, ModelArtifact? artifact)
    {
        if (_budget is null)
        {
            return null;
        }

        long contentBytes = artifact?.Length ?? 0;
        long estimate = _options.SizeMeasure == ModelSizeMeasure.ArtifactBytes && _options.SizeEstimator is null
            ? contentBytes
            : Math.Max(Volatile.Read(ref _lastSize), contentBytes);
        attempt.Step = "reserving memory";
        long waitStarted = _timeProvider.GetTimestamp();
        MemoryBudget.Reservation reservation = _budget.Reserve(this, estimate, attempt.CancellationToken, step => attempt.Step = step);
        _metrics.RecordLoadWait(this, Diagnostics.ModelCacheMetrics.WaitedForMemory, _timeProvider.GetElapsedTime(waitStarted));
        return reservation;
    }

    /// <summary>
    /// Fetches the content. When its bytes are the model's size, content larger than the whole budget could never load,
    /// so the source is told to stop reading there (a file's or a download's declared length is refused before any byte
    /// is read), not at <see cref="ModelOptions.MaxArtifactBytes"/>.
    /// </summary>
    private FetchOutcome FetchWithinBudget(LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current)
    {
        long maxBytes = _options.MaxArtifactBytes;
        if (_budget is { } budget && _options.SizeMeasure == ModelSizeMeasure.ArtifactBytes && _options.SizeEstimator is null && budget.Limit < maxBytes)
        {
            try
            {
                return _pipeline.Fetch(attempt, current, budget.Limit);
            }
            catch (InvalidDataException tooLarge) when (ArtifactReader.TooLargeSize(tooLarge) is { } size)
            {
                throw budget.TooLarge(Name, size);
            }
        }

        return _pipeline.Fetch(attempt, current, maxBytes);
    }

    private void CancelReservation(MemoryBudget.Reservation? reservation)
    {
        if (reservation is not null)
        {
            _budget!.Cancel(reservation);
        }
    }

    private GenerationCharge? ChargeMemory(MemoryBudget.Reservation? reservation, long size, TimeSpan loadTime)
    {
        Volatile.Write(ref _lastSize, size);
        return _budget?.Charge(this, reservation, size, loadTime.TotalSeconds);
    }

    // The model's size as its options say to measure it; allocated: managed bytes the load step allocated on this thread.
    private long MeasureSize(LoadAttempt<TModel> attempt, TModel model, ModelArtifact? artifact, long allocated) =>
        _options.SizeEstimator is null && _options.SizeMeasure == ModelSizeMeasure.AllocatedBytes
            ? allocated
            : _pipeline.EstimateSize(attempt, model, artifact);

    private const string MemoryBudgetReason = "memory_budget";
}
