using ModelCaching.Budget;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>
/// What the steps of one load share: the model's pipeline (its name, settings, loader or factory, clock, log and
/// <see cref="ILoadStepHost{TModel}"/>: the steps themselves hold none of it, so one set of steps serves every model), the
/// attempt, what served when it started, and what each step leaves for the next (the content, the reservation, the model,
/// its size). A step that ends the load early says why here (<see cref="Unchanged"/>, <see cref="KnownBad"/>).
/// </summary>
internal sealed class LoadContext<TModel>(LoadPipeline<TModel> pipeline, LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current)
    where TModel : class
{
    /// <summary>The model's pipeline: what the steps need of the model they load.</summary>
    public LoadPipeline<TModel> Pipeline { get; } = pipeline;

    /// <summary>The cache's side of the steps (<see cref="LoadPipeline{TModel}.Host"/>).</summary>
    public ILoadStepHost<TModel> Host => Pipeline.Host;

    public LoadAttempt<TModel> Attempt { get; } = attempt;

    /// <summary>The generation that served when the load started, if any.</summary>
    public ModelGeneration<TModel>? Current { get; } = current;

    /// <summary>The content: given (a rollback) or fetched; <see langword="null"/> for a model a factory builds.</summary>
    public ModelArtifact? Artifact { get; set; } = attempt.Artifact;

    /// <summary>The generation an unload-first swap took out of service, with the bytes to restore it from.</summary>
    public (ModelGeneration<TModel> Generation, ModelArtifact? Bytes)? UnloadedFirst { get; set; }

    /// <summary>The memory reserved for the model (the attempt holds it too).</summary>
    public MemoryBudget.Reservation? Reservation { get; set; }

    public TModel? Model { get; set; }

    /// <summary>The managed bytes building the model allocated on the attempt's thread.</summary>
    public long Allocated { get; set; }

    /// <summary>When building started (a <see cref="TimeProvider"/> timestamp).</summary>
    public long BuildStarted { get; set; }

    public TimeSpan LoadTime { get; set; }

    public long Size { get; set; }

    /// <summary>The raw bytes the new generation keeps beside its model.</summary>
    public long Retained { get; set; }

    /// <summary>Set when the load ends because the serving model is what it would load.</summary>
    public ModelGeneration<TModel>? Unchanged { get; set; }

    /// <summary>Set when the load ends because the content failed before and has not changed.</summary>
    public ModelLoadException? KnownBad { get; set; }
}
