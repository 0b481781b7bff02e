namespace ModelCaching.Loading;

/// <summary>
/// Builds the model with the <see cref="IModelFactory{TModel}"/> (no content to fetch or verify). The serving instance
/// handed back again is "unchanged": the load ends, and it is neither validated again nor disposed.
/// </summary>
internal sealed class FactoryBuildStep<TModel> : LoadStep<TModel>
    where TModel : class
{
    public override bool Run(LoadContext<TModel> context)
    {
        IModelFactory<TModel> factory = context.Pipeline.Factory!;
        context.BuildStarted = context.Pipeline.TimeProvider.GetTimestamp();
        LoadAttempt<TModel> attempt = context.Attempt;
        attempt.Step = "building";
        long before = GC.GetAllocatedBytesForCurrentThread();
        TModel model = Block(factory.CreateAsync(attempt.CancellationToken)) ?? throw new InvalidOperationException($"the factory {factory.GetType().Name} returned null");
        context.Allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (context.Current is { } current && ReferenceEquals(model, current.Model))
        {
            // Whoever takes the reservation from the attempt owns it: give it back (cancelling twice is harmless).
            attempt.TakeReservation();
            context.Host.CancelReservation(context.Reservation);
            context.Unchanged = current;
            return false;
        }

        context.Model = model;
        return true;
    }
}
