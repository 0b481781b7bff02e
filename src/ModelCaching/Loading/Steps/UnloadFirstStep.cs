namespace ModelCaching.Loading;

/// <summary>
/// <see cref="ModelSwapMode.UnloadFirst"/>: takes the serving generation out of service before the new model is built,
/// so two versions are never in memory together. On a failure later in the load the pipeline puts it back.
/// </summary>
internal sealed class UnloadFirstStep<TModel> : LoadStep<TModel>
    where TModel : class
{
    public override bool Run(LoadContext<TModel> context)
    {
        // A first load has nothing to unload (a generation serving by now came from elsewhere and stays).
        if (context.Current is { } current && context.Attempt.Reason != ModelLoadReason.FirstUse)
        {
            context.UnloadedFirst = context.Host.UnloadFirst(current);
        }

        return true;
    }
}
