using ModelCaching.Budget;
using ModelCaching.Generations;
using ModelCaching.Loading;

namespace ModelCaching;

// The cache's side of a memory budget: a load reserves its model's estimated size before it builds it, the new
// generation is charged its measured size, and the budget may evict the model (an unload) to make room for another.
public sealed partial class ModelCache<TModel>
{
    // The cache's part in its budget (made by MemoryBudget.Join in the constructor), if it has one: the budget reads what
    // the cache publishes there (its standing, its misses; its hits from _hits) and never calls into the cache under the
    // budget's lock.
    private readonly BudgetMember? _member;

    /// <summary>The cache's member of its budget, if it has one (tests read what it publishes).</summary>
    internal BudgetMember? BudgetMember => _member;

    // The size of the last generation, the estimate for the next load of a model measured after it is built.
    private long _lastSize;

    bool IBudgetedCache.Evict()
    {
        if (Unload(MemoryBudgetReason, ModelCacheState.Evicted))
        {
            return true;
        }

        // The budget acted on a standing that changed meanwhile (the model is loading first, degraded, disposed): publish
        // what holds now, so it does not choose this model again for nothing.
        _slot.PublishStanding();
        return false;
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
        long lastSize = Volatile.Read(ref _lastSize);

        // Measured after the build: the last generation's size, or before the first, what models of this budget
        // measured on average (a built model's or an ML.NET model's memory is far from its file's length). The
        // reservation grows to the measured size before the model serves (FitMeasuredSize).
        long estimate = _options.SizeMeasure == ModelSizeMeasure.ArtifactBytes && _options.SizeEstimator is null
            ? contentBytes
            : Math.Max(lastSize > 0 ? lastSize : _budget.TypicalSize, contentBytes);
        long retained = RetainedBytes(artifact, attempt.Reason);
        estimate += retained;

        // A first load (or one after an unload) is refused as larger than the whole budget only for a known size (the
        // content's bytes when they are the size, the raw bytes the generation will keep); a guess above the limit
        // reserves the limit, and the measured size decides (MeasureSize). Before, a guess from other models' sizes
        // refused a model that fits, for good. A reload keeps failing fast: its serving generation stays resident
        // beside it, so a reservation of the whole limit would only wait for its own bytes.
        long known = retained + (_options.SizeMeasure == ModelSizeMeasure.ArtifactBytes && _options.SizeEstimator is null ? contentBytes : 0);
        if (estimate > _budget.Limit && known <= _budget.Limit && _slot.Serving is null)
        {
            estimate = _budget.Limit;
        }

        attempt.Step = "reserving memory";
        long waitStarted = _timeProvider.GetTimestamp();
        MemoryBudget.Reservation reservation = _budget.Reserve(_member!, estimate, attempt.CancellationToken, step => attempt.Step = step);
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

    // retainedBytes: the raw bytes the generation keeps beside its model (RetainedBytes), charged with it. The drain delay
    // passed is how long this model's memory would drain once evicted (GenerationRetirement: a disposable model, the
    // shorter of the two delays): the budget keeps room for the loads of that last period (MemoryBudget.Headroom).
    private GenerationCharge? ChargeMemory(TModel model, MemoryBudget.Reservation? reservation, long size, TimeSpan loadTime, long retainedBytes)
    {
        Volatile.Write(ref _lastSize, size);
        TimeSpan drainDelay = model is IDisposable or IAsyncDisposable
            ? (_options.EvictionDrainDelay < _options.DrainDelay ? _options.EvictionDrainDelay : _options.DrainDelay)
            : TimeSpan.Zero;
        return _budget?.Charge(_member!, reservation, size + retainedBytes, loadTime.TotalSeconds, retainedBytes, drainDelay);
    }

    /// <summary>
    /// The model's size as its options say to measure it (allocated: managed bytes the load step allocated on this
    /// thread), with its reservation grown to that size: a size the estimate fell short of evicts to make room, within the
    /// load's timeout, before the model serves; a model larger than the whole budget fails. A model that does not fit is
    /// disposed.
    /// </summary>
    private long MeasureSize(LoadAttempt<TModel> attempt, TModel model, ModelArtifact? artifact, long allocated, MemoryBudget.Reservation? reservation, long retained)
    {
        long size = _options.SizeEstimator is null && _options.SizeMeasure == ModelSizeMeasure.AllocatedBytes
            ? allocated
            : _pipeline.EstimateSize(attempt, model, artifact);
        if (reservation is not null)
        {
            try
            {
                // The charge is the model's size and the raw bytes the generation keeps (ChargeMemory): fit both.
                _budget!.Fit(_member!, reservation, Math.Max(size, 0) + retained, attempt.CancellationToken, step => attempt.Step = step);
            }
            catch
            {
                _pipeline.DisposeUnserved(model);
                throw;
            }
        }

        return size;
    }

    private const string MemoryBudgetReason = "memory_budget";
}
