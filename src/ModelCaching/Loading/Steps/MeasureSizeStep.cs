namespace ModelCaching.Loading;

/// <summary>
/// Measures the built model (<see cref="ModelOptions.SizeMeasure"/>, <see cref="ModelOptions{TModel}.SizeEstimator"/>)
/// and grows its memory reservation to fit it before it serves; a model that does not fit is disposed.
/// </summary>
internal sealed class MeasureSizeStep<TModel> : LoadStep<TModel>
    where TModel : class
{
    public override bool Run(LoadContext<TModel> context)
    {
        context.LoadTime = context.Pipeline.TimeProvider.GetElapsedTime(context.BuildStarted);

        // Worked out once: the fit and the charge must agree on it, whatever the serving generation does meanwhile.
        context.Retained = context.Host.RetainedBytes(context.Artifact, context.Attempt.Reason);
        context.Size = context.Host.MeasureSize(context.Attempt, context.Model!, context.Artifact, context.Allocated, context.Reservation, context.Retained);
        return true;
    }
}
