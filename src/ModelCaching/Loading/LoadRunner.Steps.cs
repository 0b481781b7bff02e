using ModelCaching.Budget;
using ModelCaching.Diagnostics;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

// What a load's steps (LoadPipeline) need of their model: what serves, the memory budget (a reservation before the build,
// grown to the measured size, the charge once it serves) and the unload-first swap with its restore. Nothing here calls
// the cache: it works on the ServingChanges' slot and budget member.
internal sealed partial class LoadRunner<TModel>
{
    public ModelGeneration<TModel>? Serving => Slot.Serving;

    public void OnSourceFound() => _cache.OnSourceFound();

    /// <summary>At disposal: disposes the source if the cache built it.</summary>
    public static void DisposeOwnedSource(ModelCache<TModel> cache)
    {
        if (cache.Origin is IModelSource and IDisposable owned && (cache.Settings.Source is null || cache.Settings.OwnsSource))
        {
            owned.Dispose();
        }
    }

    /// <summary>
    /// Fetches the content. When its bytes are the model's size, content larger than the whole budget could never load,
    /// so the source is told to stop reading there (a file's or a download's declared length is refused before any byte
    /// is read), not at <see cref="ModelOptions.MaxArtifactBytes"/>.
    /// </summary>
    public FetchOutcome Fetch(LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current)
    {
        long maxBytes = Settings.MaxArtifactBytes;
        if (Budget is { } budget && SizeIsContent && budget.Limit < maxBytes)
        {
            try
            {
                return attempt.Pipeline!.Fetch(attempt, current, budget.Limit);
            }
            catch (InvalidDataException tooLarge) when (ArtifactReader.TooLargeSize(tooLarge) is { } size)
            {
                throw budget.TooLarge(Name, size);
            }
        }

        return attempt.Pipeline!.Fetch(attempt, current, maxBytes);
    }

    public (ModelGeneration<TModel> Generation, ModelArtifact? Bytes)? UnloadFirst(ModelGeneration<TModel> current) => Slot.UnloadForSwap(current);

    public void RestoreAfterFailedUnloadFirst((ModelGeneration<TModel> Generation, ModelArtifact? Bytes) unloadedFirst, CancellationToken cancellationToken)
    {
        (ModelGeneration<TModel> unloaded, ModelArtifact? bytes) = unloadedFirst;
        if (bytes is null)
        {
            return;
        }

        try
        {
            // Within what is left of the attempt's own timeout: the restore is part of the failed attempt.
            TModel model = BuildStep<TModel>.Load(Settings.Loader!, bytes, cancellationToken);
            long size = unloaded.Version.SizeBytes;
            ModelGeneration<TModel> restored = Slot.CreateGeneration(model, bytes, size, Charge(model, reservation: null, size, TimeSpan.Zero, RetainedBytes(bytes, ModelLoadReason.Retry)));
            Slot.TryRestore(restored);
        }
        catch (Exception ex)
        {
            Log.LoadFailed(Logger, ex, Name, $"{SourceDescription} (restoring the previous content after a failed unload-first swap)", ModelLoadReason.Retry);
        }
    }

    /// <summary>
    /// Reserves the model's estimated size in its budget before it is built: the content's length, or the last
    /// generation's measured size when the size is measured after the build. Waits within the load's timeout. The attempt
    /// holds the reservation (not this thread's stack), so that an abandoned attempt gives it back at its timeout; whoever
    /// takes it from the attempt (charge, cancel) owns it.
    /// </summary>
    public MemoryBudget.Reservation? ReserveMemory(LoadAttempt<TModel> attempt, ModelArtifact? artifact)
    {
        if (Budget is null)
        {
            return null;
        }

        long contentBytes = artifact?.Length ?? 0;
        long lastSize = Volatile.Read(ref _cache.LastSize);

        // Measured after the build: the last generation's size, or before the first, what models of this budget
        // measured on average (a built model's or an ML.NET model's memory is far from its file's length). The
        // reservation grows to the measured size before the model serves (MeasureSize).
        long estimate = SizeIsContent ? contentBytes : Math.Max(lastSize > 0 ? lastSize : Budget.TypicalSize, contentBytes);
        long retained = RetainedBytes(artifact, attempt.Reason);
        estimate += retained;

        // A first load (or one after an unload) is refused as larger than the whole budget only for a known size (the
        // content's bytes when they are the size, the raw bytes the generation will keep); a guess above the limit
        // reserves the limit, and the measured size decides (MeasureSize). Before, a guess from other models' sizes
        // refused a model that fits, for good. A reload keeps failing fast: its serving generation stays resident
        // beside it, so a reservation of the whole limit would only wait for its own bytes.
        long known = retained + (SizeIsContent ? contentBytes : 0);
        if (estimate > Budget.Limit && known <= Budget.Limit && Slot.Serving is null)
        {
            estimate = Budget.Limit;
        }

        attempt.Step = "reserving memory";
        long waitStarted = Time.GetTimestamp();
        MemoryBudget.Reservation reservation = Budget.Reserve(Changes.Member!, estimate, attempt.CancellationToken, attempt);
        Metrics.RecordLoadWait(_cache, ModelCacheMetrics.WaitedForMemory, Time.GetElapsedTime(waitStarted));
        attempt.HoldReservation(Budget, reservation);
        return reservation;
    }

    public void CancelReservation(MemoryBudget.Reservation? reservation)
    {
        if (reservation is not null)
        {
            Budget!.Cancel(reservation);
        }
    }

    public long RetainedBytes(ModelArtifact? artifact, ModelLoadReason reason) => Slot.RetainedBytes(artifact, reason);

    /// <summary>
    /// The model's size as its options say to measure it (allocated: managed bytes the load step allocated on this
    /// thread), with its reservation grown to that size: a size the estimate fell short of evicts to make room, within the
    /// load's timeout, before the model serves; a model larger than the whole budget fails. A model that does not fit is
    /// disposed.
    /// </summary>
    public long MeasureSize(LoadAttempt<TModel> attempt, TModel model, ModelArtifact? artifact, long allocated, MemoryBudget.Reservation? reservation, long retained)
    {
        long size = Settings.SizeEstimator is null && Settings.SizeMeasure == ModelSizeMeasure.AllocatedBytes
            ? allocated
            : attempt.Pipeline!.EstimateSize(attempt, model, artifact);
        if (reservation is not null)
        {
            try
            {
                // The charge is the model's size and the raw bytes the generation keeps (Charge): fit both.
                Budget!.Fit(Changes.Member!, reservation, Math.Max(size, 0) + retained, attempt.CancellationToken, attempt);
            }
            catch
            {
                attempt.Pipeline!.DisposeUnserved(model);
                throw;
            }
        }

        return size;
    }

    /// <summary>
    /// The new generation's charge: its reservation becomes a charge of its size and of the raw bytes it keeps beside its
    /// model (<paramref name="retainedBytes"/>). The drain delay passed is how long this model's memory would drain once
    /// evicted (GenerationRetirement: a disposable model, the shorter of the two delays): the budget keeps room for the
    /// loads of that last period (MemoryBudget.Headroom).
    /// </summary>
    public GenerationCharge? Charge(TModel model, MemoryBudget.Reservation? reservation, long size, TimeSpan loadTime, long retainedBytes)
    {
        Volatile.Write(ref _cache.LastSize, size);
        TimeSpan drainDelay = model is IDisposable or IAsyncDisposable
            ? (Settings.EvictionDrainDelay < Settings.DrainDelay ? Settings.EvictionDrainDelay : Settings.DrainDelay)
            : TimeSpan.Zero;
        return Budget?.Charge(Changes.Member!, reservation, size + retainedBytes, loadTime.TotalSeconds, retainedBytes, drainDelay);
    }

    // The content's bytes are the model's size (no estimator, no measure after the build).
    private bool SizeIsContent => Settings.SizeMeasure == ModelSizeMeasure.ArtifactBytes && Settings.SizeEstimator is null;
}
