namespace ModelCaching.Loading;

/// <summary>
/// Reserves the model's estimated size in its memory budget before it is built (evicting or waiting, within the load's
/// timeout). The attempt holds the reservation, so an abandoned attempt gives it back at its timeout.
/// </summary>
internal sealed class ReserveMemoryStep<TModel> : LoadStep<TModel>
    where TModel : class
{
    public override bool Run(LoadContext<TModel> context)
    {
        context.Reservation = context.Host.ReserveMemory(context.Attempt, context.Artifact);
        return true;
    }
}
