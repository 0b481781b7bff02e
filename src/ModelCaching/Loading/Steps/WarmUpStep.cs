using ModelCaching.FailSafe;

namespace ModelCaching.Loading;

/// <summary>Runs the warm-ups (<see cref="ModelOptions{TModel}.WarmUps"/>) on the new model before it serves; a model that fails them is disposed.</summary>
internal sealed class WarmUpStep<TModel> : LoadStep<TModel>
    where TModel : class
{
    // A warm-up that fails judges the content like a validator does.
    public override ContentCheck? Check => ContentCheck.Validation;

    public override bool Run(LoadContext<TModel> context)
    {
        ValidateStep<TModel>.RunEach(context, context.Pipeline.Settings.WarmUps, "warming up");
        return true;
    }
}
