using Microsoft.Extensions.Logging;
using ModelCaching.FailSafe;

namespace ModelCaching.Loading;

/// <summary>Runs the warm-ups (<see cref="ModelOptions{TModel}.WarmUps"/>) on the new model before it serves; a model that fails them is disposed.</summary>
internal sealed class WarmUpStep<TModel>(ModelOptions<TModel> settings, string modelName, ILogger logger) : LoadStep<TModel>
    where TModel : class
{
    // A warm-up that fails judges the content like a validator does.
    public override ContentCheck? Check => ContentCheck.Validation;

    public override bool Run(LoadContext<TModel> context)
    {
        ValidateStep<TModel>.RunEach(context, settings.WarmUps, "warming up", modelName, logger);
        return true;
    }
}
