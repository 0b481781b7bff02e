using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>Schema checks for ML.NET models, for caches built without dependency injection.</summary>
public static class PredictionSchema
{
    /// <summary>
    /// Checks now that <paramref name="model"/> reads <typeparamref name="TData"/> and writes
    /// <typeparamref name="TPrediction"/> (names and types, then one engine).
    /// </summary>
    /// <exception cref="ModelSchemaException">The model does not fit the types; the message names the column and both types.</exception>
    public static void Check<TData, TPrediction>(MLContext context, ITransformer model, string modelName, PredictionEngineOptions? engineOptions = null)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(modelName);
        PredictionSchemaCheck<TData, TPrediction>.Check(context, model, modelName, engineOptions);
    }

    /// <summary>
    /// A validator for <see cref="ModelOptions{TModel}.Validators"/> that runs <see cref="Check"/> on every
    /// new generation, so a model that does not fit is rejected before it serves.
    /// </summary>
    public static Func<ITransformer, CancellationToken, ValueTask> CreateValidator<TData, TPrediction>(MLContext context, string modelName, PredictionEngineOptions? engineOptions = null)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(modelName);
        return (model, cancellationToken) =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            PredictionSchemaCheck<TData, TPrediction>.Check(context, model, modelName, engineOptions);
            return ValueTask.CompletedTask;
        };
    }
}
