using Microsoft.Extensions.Logging;
using ModelCaching.Diagnostics;
using ModelCaching.FailSafe;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>
/// Fetches the content from the source (unless the attempt brought it: a rollback) and decides whether it needs loading:
/// the same as the serving content (the load ends, unchanged), known to be bad (the load ends, skipped), or new.
/// </summary>
internal sealed class FetchStep<TModel>(string modelName, string description, IModelSource source, FailSafePolicy failSafe, ILogger logger, ILoadStepHost<TModel> host)
    : LoadStep<TModel>
    where TModel : class
{
    public override bool Run(LoadContext<TModel> context)
    {
        if (context.Artifact is null)
        {
            FetchOutcome fetched = host.Fetch(context.Attempt, context.Current);

            // The same content as the serving one is no reload (unless an unload took it away meanwhile).
            if (fetched.IsSameAsCurrent && (fetched.Artifact is null || ReferenceEquals(host.Serving, context.Current)))
            {
                context.Unchanged = context.Current;
                return false;
            }

            context.Artifact = fetched.Artifact;
            if (fetched.KnownBadFailure is { } knownBad)
            {
                context.KnownBad = knownBad;
                return false;
            }
        }

        host.OnSourceFound();
        return true;
    }

    /// <summary>Fetches the content and says whether it needs loading: unchanged, known to be bad, or new.</summary>
    /// <param name="attempt">The load attempt.</param>
    /// <param name="current">The serving generation, if any.</param>
    /// <param name="maxBytes">The most the source may read: <see cref="ModelOptions.MaxArtifactBytes"/>, or less under a memory budget.</param>
    public FetchOutcome Fetch(LoadAttempt<TModel> attempt, ModelGeneration<TModel>? current, long maxBytes)
    {
        attempt.Step = "fetching from the source";
        ModelArtifact? artifact = Block(source.FetchAsync(new ModelFetchContext(modelName, current?.Version, maxBytes), attempt.CancellationToken));
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

        // An explicit reload may retry content that failed, but does not silently undo a rollback: that needs force
        // (LoadRunner.ReloadAsync forgets the rollback's hold first).
        if (artifact.ContentHash is { } rolledBack && attempt.Reason == ModelLoadReason.Explicit && current is not null && failSafe.IsRolledBack(rolledBack))
        {
            throw new ModelReloadRefusedException(modelName, rolledBack, current.Version.Id);
        }

        if (artifact.ContentHash is { } hash && attempt.Reason != ModelLoadReason.Explicit && failSafe.IsRejected(hash, out string? rejectedFor))
        {
            Log.KnownBadContentSkipped(logger, modelName, description, hash);
            return FetchOutcome.KnownBad(artifact, new ModelLoadException(modelName, description, $"its content (SHA-256 {hash}) has not changed since it was rejected: {rejectedFor}"));
        }

        return FetchOutcome.New(artifact);
    }

    private static bool IsSameContent(ModelGeneration<TModel> current, ModelArtifact artifact)
    {
        if (artifact.ContentHash is not null)
        {
            // The hash, not the bytes: a generation keeps its bytes only when a rollback or an unload-first swap needs them.
            return current.ContentHash == artifact.ContentHash || current.Version.Id == artifact.ContentHash;
        }

        return artifact.ETag is not null && current.Version.ETag == artifact.ETag;
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
