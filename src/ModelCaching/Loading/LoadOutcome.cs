using ModelCaching.Budget;
using ModelCaching.FailSafe;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>What a run of the <see cref="LoadPipeline{TModel}"/> produced: a new model, the serving one unchanged, or a failure.</summary>
internal readonly struct LoadOutcome<TModel>
    where TModel : class
{
    public ModelGeneration<TModel>? Unchanged { get; init; }

    public TModel? Model { get; init; }

    public ModelArtifact? Artifact { get; init; }

    public Exception? Error { get; init; }

    /// <summary>The content is known to be bad and was not loaded (<see cref="Error"/> says why).</summary>
    public bool Skipped { get; init; }

    /// <summary>The content caused the failure (<see cref="ContentFault"/>): its hash is remembered as bad unless it has served.</summary>
    public bool ContentAtFault { get; init; }

    public long Size { get; init; }

    /// <summary>The raw bytes the new generation keeps beside its model, fitted and charged with it.</summary>
    public long Retained { get; init; }

    /// <summary>
    /// The memory the load reserved in its budget. The attempt holds it (an abandonment gives it back); kept here too so
    /// that bytes a size fit added after an abandonment are given back as well.
    /// </summary>
    public MemoryBudget.Reservation? Reservation { get; init; }

    /// <summary>How long building the model took, validation and warm-up included (what the budget's eviction learns a load of it costs).</summary>
    public TimeSpan LoadTime { get; init; }
}
