using ModelCaching.FailSafe;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>Runs the validators (<see cref="ModelOptions{TModel}.Validators"/>) on the new model; a model that fails them is disposed.</summary>
internal sealed class ValidateStep<TModel> : LoadStep<TModel>
    where TModel : class
{
    public override ContentCheck? Check => ContentCheck.Validation;

    public override bool Run(LoadContext<TModel> context)
    {
        RunEach(context, context.Pipeline.Settings.Validators, "validating");
        return true;
    }

    /// <summary>Runs each callback on the model under the attempt's token; disposes the model (generation 0) if one throws.</summary>
    internal static void RunEach(LoadContext<TModel> context, IList<Func<TModel, CancellationToken, ValueTask>> callbacks, string step)
    {
        TModel model = context.Model!;
        CancellationToken cancellationToken = context.Attempt.CancellationToken;
        try
        {
            foreach (Func<TModel, CancellationToken, ValueTask> callback in callbacks)
            {
                context.Attempt.Step = step;
                Block(callback(model, cancellationToken));
            }
        }
        catch
        {
            context.Pipeline.DisposeUnserved(model);
            throw;
        }
    }
}
