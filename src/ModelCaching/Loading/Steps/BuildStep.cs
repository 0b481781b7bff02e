using ModelCaching.FailSafe;

namespace ModelCaching.Loading;

/// <summary>Builds the model from its content with the <see cref="IModelLoader{TModel}"/>, measuring what it allocates.</summary>
internal sealed class BuildStep<TModel> : LoadStep<TModel>
    where TModel : class
{
    public override ContentCheck? Check => ContentCheck.Loader;

    public override bool Run(LoadContext<TModel> context)
    {
        context.BuildStarted = context.Pipeline.TimeProvider.GetTimestamp();
        LoadAttempt<TModel> attempt = context.Attempt;
        attempt.Step = "loading";
        long before = GC.GetAllocatedBytesForCurrentThread();
        context.Model = Load(context.Pipeline.Loader!, context.Artifact!, attempt.CancellationToken);
        context.Allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return true;
    }

    /// <summary>Only loads (no validation): also for restoring content that served before.</summary>
    public static TModel Load(IModelLoader<TModel> loader, ModelArtifact artifact, CancellationToken cancellationToken) =>
        Block(loader.LoadAsync(artifact, cancellationToken)) ?? throw new InvalidOperationException($"the loader {loader.GetType().Name} returned null");
}
