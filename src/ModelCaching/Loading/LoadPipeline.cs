using Microsoft.Extensions.Logging;
using ModelCaching.Diagnostics;
using ModelCaching.FailSafe;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>
/// The steps of one load, as a list built once from the options: fetch → integrity → unload first → reserve memory →
/// build → validate → warm up → measure (a factory's model: reserve memory → build → validate → warm up → measure).
/// They run in order on the attempt's thread (<see cref="LoadAttempt{TModel}"/>), under its token, over one
/// <see cref="LoadContext{TModel}"/>; the attempt's timeout bounds them whatever they do with it.
/// </summary>
/// <remarks>
/// Like a Polly v8 pipeline built from strategies, except that no step wraps the next: a plain list and one
/// <c>try</c> around it are enough, because what a failure undoes (the reservation, an unload-first swap) is the same
/// whichever step failed, and which step failed is data on the step (<see cref="LoadStep{TModel}.Check"/>). To add a
/// step, write a <see cref="LoadStep{TModel}"/> and add it where <see cref="BuildSteps"/> builds the list.
/// <para>
/// The steps hold nothing of their model: they read it from the <see cref="LoadContext{TModel}"/>'s pipeline (this
/// object), so the steps are made once per model type and a factory's list is one list for every model (issue 18: what
/// a known template name costs). Only a fetch step holds its model's source, so a list with one is the model's own.
/// </para>
/// </remarks>
internal sealed class LoadPipeline<TModel>
    where TModel : class
{
    private static readonly LoadStep<TModel> Integrity = new IntegrityStep<TModel>();
    private static readonly LoadStep<TModel> UnloadFirst = new UnloadFirstStep<TModel>();
    private static readonly LoadStep<TModel> Build = new BuildStep<TModel>();
    private static readonly LoadStep<TModel> Reserve = new ReserveMemoryStep<TModel>();
    private static readonly LoadStep<TModel> Validate = new ValidateStep<TModel>();
    private static readonly LoadStep<TModel> WarmUp = new WarmUpStep<TModel>();
    private static readonly LoadStep<TModel> Measure = new MeasureSizeStep<TModel>();
    private static readonly LoadStep<TModel>[] FactorySteps = [Reserve, new FactoryBuildStep<TModel>(), Validate, WarmUp, Measure];

    private readonly FetchStep<TModel>? _fetch;
    private readonly LoadStep<TModel>[] _steps;

    public LoadPipeline(string modelName, string description, IModelSource? source, IModelLoader<TModel>? loader, IModelFactory<TModel>? factory, ModelOptions<TModel> settings, FailSafePolicy failSafe, ILogger logger, TimeProvider timeProvider, ILoadStepHost<TModel> host)
    {
        ModelName = modelName;
        Loader = loader;
        Factory = factory;
        Settings = settings;
        Logger = logger;
        TimeProvider = timeProvider;
        Host = host;
        _fetch = source is null ? null : new FetchStep<TModel>(modelName, description, source, failSafe, logger, host);
        _steps = BuildSteps();
    }

    /// <summary>The steps every load runs, in order.</summary>
    public IReadOnlyList<LoadStep<TModel>> Steps => _steps;

    public string ModelName { get; }

    public ModelOptions<TModel> Settings { get; }

    /// <summary>What builds the model from its content (a model from a source).</summary>
    public IModelLoader<TModel>? Loader { get; }

    /// <summary>What builds the model with no content (a model from a factory).</summary>
    public IModelFactory<TModel>? Factory { get; }

    public ILogger Logger { get; }

    public TimeProvider TimeProvider { get; }

    /// <summary>The cache's side of the steps: what serves, the budget, the unload-first swap.</summary>
    public ILoadStepHost<TModel> Host { get; }

    /// <summary>
    /// Runs the steps for <paramref name="attempt"/>. A failure gives back the reservation, puts back a generation an
    /// unload-first swap took out of service, and says whether the content was at fault.
    /// </summary>
    /// <param name="attempt">The load attempt.</param>
    /// <param name="current">The serving generation when the load starts, if any.</param>
    public LoadOutcome<TModel> Run(LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current)
    {
        var context = new LoadContext<TModel>(this, attempt, current);

        // The step that judges the content, while one runs: a failure there may be the content's fault (ContentFault).
        ContentCheck? check = null;
        try
        {
            foreach (LoadStep<TModel> step in _steps)
            {
                check = step.Check;
                if (!step.Run(context))
                {
                    return context.KnownBad is { } knownBad
                        ? new LoadOutcome<TModel> { Error = knownBad, Artifact = context.Artifact, Skipped = true }
                        : new LoadOutcome<TModel> { Unchanged = context.Unchanged };
                }
            }

            return new LoadOutcome<TModel> { Model = context.Model, Artifact = context.Artifact, Size = context.Size, Retained = context.Retained, Reservation = context.Reservation, LoadTime = context.LoadTime };
        }
        catch (Exception ex)
        {
            attempt.TakeReservation();
            Host.CancelReservation(context.Reservation);
            if (context.UnloadedFirst is { } unloaded && !attempt.IsAbandoned)
            {
                Host.RestoreAfterFailedUnloadFirst(unloaded, attempt.CancellationToken);
            }

            // Only content can be at fault: a factory's model has none.
            bool contentAtFault = check is { } judged && context.Artifact is not null && ContentFault.IsContentFault(ex, judged);
            return new LoadOutcome<TModel> { Error = ex, Artifact = context.Artifact, ContentAtFault = contentAtFault };
        }
    }

    /// <summary>
    /// The attempt was abandoned (timed out, the cache disposed) while its steps ran: what they produced never serves.
    /// Gives back the reservation (the abandonment gave it back already, but a size fitted after that grew it again;
    /// cancelling twice is harmless) and disposes a late model.
    /// </summary>
    public void DiscardLate(LoadAttempt<TModel> attempt, LoadOutcome<TModel> outcome)
    {
        attempt.TakeReservation();
        Host.CancelReservation(outcome.Reservation);
        if (outcome.Model is { } late)
        {
            DisposeUnserved(late);
            Log.LoadAbandoned(Logger, ModelName);
        }
    }

    /// <summary>Fetches the content and says whether it needs loading (<see cref="FetchStep{TModel}.Fetch"/>).</summary>
    public FetchOutcome Fetch(LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current, long maxBytes) => _fetch!.Fetch(attempt, current, maxBytes);

    /// <summary>
    /// The model's size for its version and the memory metrics: <see cref="ModelOptions{TModel}.SizeEstimator"/> (a user
    /// callback, so it runs here under the load timeout), else the artifact's length. A model whose estimate throws is
    /// disposed and the load fails.
    /// </summary>
    public long EstimateSize(LoadAttempt<TModel> attempt, TModel model, ModelArtifact? artifact)
    {
        if (Settings.SizeEstimator is not { } estimate)
        {
            return artifact?.Length ?? 0;
        }

        attempt.Step = "estimating its size";
        try
        {
            return estimate(model, artifact);
        }
        catch
        {
            DisposeUnserved(model);
            throw;
        }
    }

    /// <summary>Only loads (no validation): for restoring content that served before.</summary>
    public TModel Load(ModelArtifact artifact, CancellationToken cancellationToken) => BuildStep<TModel>.Load(Loader!, artifact, cancellationToken);

    /// <summary>Disposes a model that never became a generation (failed validation, abandoned load): generation 0 in the logs.</summary>
    public void DisposeUnserved(TModel model) => ModelDisposal.TryDispose(model, Logger, ModelName, generation: 0);

    /// <summary>A plain cause for a step's exception, for <see cref="ModelLoadException.Cause"/>.</summary>
    public static string Describe(Exception ex) => ex switch
    {
        FileNotFoundException notFound => $"the file was not found ({notFound.FileName ?? notFound.Message})",
        DirectoryNotFoundException => $"the directory was not found ({ex.Message})",
        UnauthorizedAccessException => $"access was denied ({ex.Message})",
        OperationCanceledException => "the load was cancelled",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    // The list, built once. A model comes from a factory, or from a source and a loader: a factory's generations keep no
    // bytes, so none of its attempts brings content (a rollback to it swaps a kept generation back, no load).
    private LoadStep<TModel>[] BuildSteps()
    {
        if (Factory is not null)
        {
            return FactorySteps;
        }

        return Settings.SwapMode == ModelSwapMode.UnloadFirst
            ? [_fetch!, Integrity, UnloadFirst, Reserve, Build, Validate, WarmUp, Measure]
            : [_fetch!, Integrity, Reserve, Build, Validate, WarmUp, Measure];
    }
}
