using ModelCaching.FailSafe;

namespace ModelCaching.Loading;

/// <summary>Builds the model from its content with the <see cref="IModelLoader{TModel}"/>, measuring what it allocates.</summary>
internal sealed class BuildStep<TModel>(IModelLoader<TModel> loader, TimeProvider timeProvider) : LoadStep<TModel>
    where TModel : class
{
    public override ContentCheck? Check => ContentCheck.Loader;

    public override bool Run(LoadContext<TModel> context)
    {
        context.BuildStarted = timeProvider.GetTimestamp();
        LoadAttempt<TModel> attempt = context.Attempt;
        attempt.Step = "loading";
        long before = GC.GetAllocatedBytesForCurrentThread();
        context.Model = Load(loader, context.Artifact!, attempt.CancellationToken);
        context.Allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return true;
    }

    /// <summary>Only loads (no validation): also for restoring content that served before.</summary>
    public static TModel Load(IModelLoader<TModel> loader, ModelArtifact artifact, CancellationToken cancellationToken) =>
        Block(loader.LoadAsync(artifact, cancellationToken)) ?? throw new InvalidOperationException($"the loader {loader.GetType().Name} returned null");
}
