using ModelCaching.Budget;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>
/// The cache's side of a load's steps (<see cref="LoadPipeline{TModel}"/>): what serves, the memory budget, and the
/// unload-first swap. The cache implements it explicitly; steps reach the cache through nothing else.
/// </summary>
internal interface ILoadStepHost<TModel>
    where TModel : class
{
    /// <summary>The generation serving now (it may have changed since the load started).</summary>
    ModelGeneration<TModel>? Serving { get; }

    /// <summary>Fetches the content through <see cref="LoadPipeline{TModel}.Fetch"/>, reading no more than the budget could ever hold.</summary>
    FetchOutcome Fetch(LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current);

    /// <summary>The source returned content: the model exists (metrics may name it).</summary>
    void OnSourceFound();

    /// <summary>Takes <paramref name="current"/> out of service before the new model is built; <see langword="null"/> when it no longer serves.</summary>
    (ModelGeneration<TModel> Generation, ModelArtifact? Bytes)? UnloadFirst(ModelGeneration<TModel> current);

    /// <summary>Puts back what <see cref="UnloadFirst"/> took when the load failed, within what is left of the attempt's timeout.</summary>
    void RestoreAfterFailedUnloadFirst((ModelGeneration<TModel> Generation, ModelArtifact? Bytes) unloaded, CancellationToken cancellationToken);

    /// <summary>Reserves the model's estimated size in its budget (none without a budget), held by the attempt.</summary>
    MemoryBudget.Reservation? ReserveMemory(LoadAttempt<TModel> attempt, ModelArtifact? artifact);

    /// <summary>Gives a reservation back (cancelling one twice, or none, is harmless).</summary>
    void CancelReservation(MemoryBudget.Reservation? reservation);

    /// <summary>The raw bytes the new generation will keep beside its model, charged with it.</summary>
    long RetainedBytes(ModelArtifact? artifact, ModelLoadReason reason);

    /// <summary>The model's size, with its reservation grown to fit it (and the retained bytes); a model that does not fit is disposed.</summary>
    long MeasureSize(LoadAttempt<TModel> attempt, TModel model, ModelArtifact? artifact, long allocated, MemoryBudget.Reservation? reservation, long retained);
}
