using Microsoft.Extensions.Logging;
using ModelCaching.Diagnostics;
using ModelCaching.FailSafe;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>
/// The steps of one load, with no state of their own: fetch → verify integrity → load → validate → warm up. They run
/// synchronously on the attempt's thread (<see cref="LoadAttempt{TModel}"/>), under its token; the attempt's timeout
/// bounds them whatever they do with it.
/// </summary>
/// <remarks>A model comes from a source and a loader, or from a factory that builds it (<see cref="Create"/>).</remarks>
internal sealed class LoadPipeline<TModel>(string modelName, string description, IModelSource? source, IModelLoader<TModel>? loader, IModelFactory<TModel>? factory, ModelOptions<TModel> settings, FailSafePolicy failSafe, ILogger logger)
    where TModel : class
{
    /// <summary>Fetches the content and says whether it needs loading: unchanged, known to be bad, or new.</summary>
    /// <param name="attempt">The load attempt.</param>
    /// <param name="current">The serving generation, if any.</param>
    /// <param name="maxBytes">The most the source may read: <see cref="ModelOptions.MaxArtifactBytes"/>, or less under a memory budget.</param>
    public FetchOutcome Fetch(LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current, long maxBytes)
    {
        attempt.Step = "fetching from the source";
        ModelArtifact? artifact = Block(source!.FetchAsync(new ModelFetchContext(modelName, current?.Version, maxBytes), attempt.CancellationToken));
        if (artifact is null)
        {
            return current is not null
                ? FetchOutcome.SameAsCurrent(null)
                : throw new InvalidOperationException("the source reported its content unchanged, but no model is loaded");
        }

        if (current is not null && IsSameContent(current, artifact))
        {
            return FetchOutcome.SameAsCurrent(artifact);
        }

        if (artifact.ContentHash is { } hash && attempt.Reason != ModelLoadReason.Explicit && failSafe.IsRejected(hash, out string? rejectedFor))
        {
            Log.KnownBadContentSkipped(logger, modelName, description, hash);
            return FetchOutcome.KnownBad(artifact, new ModelLoadException(modelName, description, $"its content (SHA-256 {hash}) has not changed since it was rejected: {rejectedFor}"));
        }

        return FetchOutcome.New(artifact);
    }

    /// <summary>Checks the size limit and the expected SHA-256 (from options or a sidecar).</summary>
    public void CheckIntegrity(LoadAttempt<TModel> attempt, ModelArtifact artifact)
    {
        attempt.Step = "checking integrity";
        if (artifact.Length > settings.MaxArtifactBytes)
        {
            throw ArtifactReader.TooLarge(artifact.Location, artifact.Length, settings.MaxArtifactBytes);
        }

        if (!artifact.HasContent)
        {
            return;
        }

        foreach (string? expected in (ReadOnlySpan<string?>)[settings.ExpectedSha256, artifact.ExpectedSha256])
        {
            if (expected is not null && !string.Equals(expected, artifact.ContentHash, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"SHA-256 mismatch: expected {expected.ToLowerInvariant()}, the content has {artifact.ContentHash}");
            }
        }
    }

    /// <summary>Loads a model from its content (then <see cref="Prepare"/> validates and warms it up).</summary>
    /// <param name="attempt">The load attempt.</param>
    /// <param name="artifact">The content to load.</param>
    /// <param name="allocated">The managed bytes the loader allocated on this thread (<see cref="ModelSizeMeasure.AllocatedBytes"/>).</param>
    public TModel Build(LoadAttempt<TModel> attempt, ModelArtifact artifact, out long allocated)
    {
        attempt.Step = "loading";
        long before = GC.GetAllocatedBytesForCurrentThread();
        TModel model = Load(artifact, attempt.CancellationToken);
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return model;
    }

    /// <summary>
    /// Builds the model with the factory, then validates and warms it up. The serving instance handed back again is
    /// "unchanged": it is neither validated again nor disposed.
    /// </summary>
    public TModel Create(LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current, out bool unchanged, out long allocated)
    {
        attempt.Step = "building";
        long before = GC.GetAllocatedBytesForCurrentThread();
        TModel model = Block(factory!.CreateAsync(attempt.CancellationToken)) ?? throw new InvalidOperationException($"the factory {factory.GetType().Name} returned null");
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        unchanged = current is not null && ReferenceEquals(model, current.Model);
        if (!unchanged)
        {
            Prepare(attempt, model);
        }

        return model;
    }

    /// <summary>Runs the validators and warm-ups on a new model; a model that fails them is disposed.</summary>
    public void Prepare(LoadAttempt<TModel> attempt, TModel model)
    {
        CancellationToken cancellationToken = attempt.CancellationToken;
        try
        {
            foreach (Func<TModel, CancellationToken, ValueTask> validate in settings.Validators)
            {
                attempt.Step = "validating";
                Block(validate(model, cancellationToken));
            }

            foreach (Func<TModel, CancellationToken, ValueTask> warmUp in settings.WarmUps)
            {
                attempt.Step = "warming up";
                Block(warmUp(model, cancellationToken));
            }
        }
        catch
        {
            DisposeUnserved(model);
            throw;
        }
    }

    /// <summary>
    /// The model's size for its version and the memory metrics: <see cref="ModelOptions{TModel}.SizeEstimator"/> (a user
    /// callback, so it runs here under the load timeout), else the artifact's length. A model whose estimate throws is
    /// disposed and the load fails.
    /// </summary>
    public long EstimateSize(LoadAttempt<TModel> attempt, TModel model, ModelArtifact? artifact)
    {
        if (settings.SizeEstimator is not { } estimate)
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
    public TModel Load(ModelArtifact artifact, CancellationToken cancellationToken) =>
        Block(loader!.LoadAsync(artifact, cancellationToken)) ?? throw new InvalidOperationException($"the loader {loader.GetType().Name} returned null");

    /// <summary>Disposes a model that never became a generation (failed validation, abandoned load): generation 0 in the logs.</summary>
    public void DisposeUnserved(TModel model) => ModelDisposal.TryDispose(model, logger, modelName, generation: 0);

    /// <summary>A plain cause for a step's exception, for <see cref="ModelLoadException.Cause"/>.</summary>
    public static string Describe(Exception ex) => ex switch
    {
        FileNotFoundException notFound => $"the file was not found ({notFound.FileName ?? notFound.Message})",
        DirectoryNotFoundException => $"the directory was not found ({ex.Message})",
        UnauthorizedAccessException => $"access was denied ({ex.Message})",
        OperationCanceledException => "the load was cancelled",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    private static bool IsSameContent(ModelGeneration<TModel> current, ModelArtifact artifact)
    {
        if (artifact.ContentHash is not null)
        {
            // The hash, not the bytes: a generation keeps its bytes only when a rollback or an unload-first swap needs them.
            return current.ContentHash == artifact.ContentHash || current.Version.Id == artifact.ContentHash;
        }

        return artifact.ETag is not null && current.Version.ETag == artifact.ETag;
    }

    // The attempt's thread waits for a step that completes asynchronously; a step that completes synchronously
    // (file, ML.NET, ONNX Runtime) never touches the thread pool.
    private static T Block<T>(ValueTask<T> step) => step.IsCompletedSuccessfully ? step.Result : step.AsTask().GetAwaiter().GetResult();

    private static void Block(ValueTask step)
    {
        if (!step.IsCompletedSuccessfully)
        {
            step.AsTask().GetAwaiter().GetResult();
        }
    }
}

/// <summary>What a fetch found.</summary>
internal readonly struct FetchOutcome
{
    private FetchOutcome(ModelArtifact? artifact, bool same, ModelLoadException? knownBad)
    {
        Artifact = artifact;
        IsSameAsCurrent = same;
        KnownBadFailure = knownBad;
    }

    /// <summary>The fetched content (<see langword="null"/> when the source said "unchanged" without content).</summary>
    public ModelArtifact? Artifact { get; }

    /// <summary>The content is what serves now.</summary>
    public bool IsSameAsCurrent { get; }

    /// <summary>The content failed before and has not changed: the failure to report.</summary>
    public ModelLoadException? KnownBadFailure { get; }

    public static FetchOutcome SameAsCurrent(ModelArtifact? artifact) => new(artifact, same: true, knownBad: null);

    public static FetchOutcome KnownBad(ModelArtifact artifact, ModelLoadException failure) => new(artifact, same: false, failure);

    public static FetchOutcome New(ModelArtifact artifact) => new(artifact, same: false, knownBad: null);
}
