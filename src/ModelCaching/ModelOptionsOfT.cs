using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ModelCaching;

/// <summary>
/// The settings of one cached model, including the parts that depend on its type: where it comes from,
/// how it is loaded, how a new generation is checked and warmed up before it serves.
/// </summary>
/// <typeparam name="TModel">The model type.</typeparam>
public sealed class ModelOptions<TModel> : ModelOptions
    where TModel : class
{
    /// <summary>
    /// Where the model's bytes come from. When <see langword="null"/>, the configuration's <c>FilePath</c> or <c>Uri</c> is used.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public IModelSource? Source { get; set; }

    /// <summary>
    /// Turns the bytes into a model.
    /// <value>The default is <see langword="null"/>; a model without a loader fails validation.</value>
    /// </summary>
    public IModelLoader<TModel>? Loader { get; set; }

    /// <summary>
    /// Builds the model instead of a source and a loader (a model trained or assembled in the process, or handed out by
    /// an object of yours); set one or the other, not both. A factory-built generation has no bytes, so its version is
    /// its generation number (<c>g1</c>, <c>g2</c>, …) and a rollback needs <see cref="ModelRollbackRetention.Generation"/>.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public IModelFactory<TModel>? Factory { get; set; }

    /// <summary>
    /// Checks run on every new generation before it may serve (a schema check, say). Throw to reject the
    /// generation; the cache keeps serving the last good one.
    /// </summary>
    public IList<Func<TModel, CancellationToken, ValueTask>> Validators { get; private set; } = [];

    /// <summary>
    /// Work run on every new generation before it serves and before readiness (one prediction, say), so
    /// the first requests do not pay for lazy initialisation. A failure rejects the generation.
    /// </summary>
    public IList<Func<TModel, CancellationToken, ValueTask>> WarmUps { get; private set; } = [];

    /// <summary>
    /// Estimates a loaded model's size in bytes for <see cref="ModelVersion.SizeBytes"/> and the size metric. The artifact
    /// is <see langword="null"/> for a model a <see cref="Factory"/> built.
    /// <value>The default is <see langword="null"/>: the artifact's length is used (0 for a factory-built model).</value>
    /// </summary>
    public Func<TModel, ModelArtifact?, long>? SizeEstimator { get; set; }

    /// <summary>
    /// A copy that nothing else references: a cache reads its settings from such a snapshot, taken once when it is
    /// built, so changing the options afterwards changes nothing that was validated.
    /// </summary>
    /// <param name="factory">The factory of the cache whose settings these are, if not <see cref="Factory"/> (a template's models share settings, not factories).</param>
    internal ModelOptions<TModel> Snapshot(IModelFactory<TModel>? factory = null)
    {
        var copy = (ModelOptions<TModel>)MemberwiseClone();
        copy.Factory = factory ?? Factory;
        copy.Validators = [.. Validators];
        copy.WarmUps = [.. WarmUps];
        return copy;
    }

    /// <summary>Whether the cache created (through the builder) and so disposes <see cref="Source"/>; a source the application passes in stays the application's.</summary>
    internal bool OwnsSource { get; set; }

    /// <summary>
    /// Returns <see cref="Source"/>, or the source the configuration names (<c>FilePath</c> or <c>Uri</c>, watching per
    /// <c>WatchForChanges</c>) on the given clock, or <see langword="null"/>.
    /// </summary>
    internal IModelSource? ResolveSource(TimeProvider timeProvider, ILoggerFactory loggerFactory) =>
        Source ?? ConfiguredSource?.Create(timeProvider, loggerFactory);

    internal new IEnumerable<string> Validate(string modelName)
    {
        foreach (string problem in base.Validate(modelName))
        {
            yield return problem;
        }

        if (Factory is not null)
        {
            if (Source is not null || ConfiguredSource is { IsSet: true })
            {
                yield return Problem(modelName, nameof(Factory), "is set together with a source (Source, FilePath or Uri): a factory builds the model itself; keep one of them");
            }

            if (Loader is not null)
            {
                yield return Problem(modelName, nameof(Factory), "is set together with a Loader: a factory builds the model itself; remove UseLoader");
            }

            if (SwapMode == ModelSwapMode.UnloadFirst)
            {
                yield return Problem(modelName, nameof(SwapMode), "UnloadFirst needs the previous version's bytes to restore it after a failed load, and a factory-built model has none; use LoadBeside");
            }

            yield break;
        }

        if (Source is null && ConfiguredSource is not { IsSet: true })
        {
            yield return Problem(modelName, nameof(Source), "is not set: give the model a source (FromFile, FromHttp, FromStream) or a factory (FromFactory), or a FilePath or Uri in configuration");
        }

        if (Loader is null)
        {
            yield return Problem(modelName, nameof(Loader), $"is not set: give the model a loader for {typeof(TModel).Name} (UseLoader, or UseMLNet from ModelCaching.ML)");
        }
    }
}
