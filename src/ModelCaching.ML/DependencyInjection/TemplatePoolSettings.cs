using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>
/// What <c>WithPredictionPool&lt;TData, TPrediction&gt;()</c> on a template (<c>AddModelTemplate</c>) records: the
/// template and the settings of the pool each of its models gets. Registered once per template, so
/// <see cref="PredictionPoolProvider{TData, TPrediction}"/> knows which names a template of these types can serve.
/// </summary>
internal sealed class TemplatePoolSettings<TData, TPrediction>(string templateName, PredictionPoolOptions poolOptions)
    where TData : class
    where TPrediction : class, new()
{
    public string TemplateName { get; } = templateName;

    /// <summary>The pool settings, a copy taken at registration (each pool copies them again).</summary>
    public PredictionPoolOptions PoolOptions { get; } = poolOptions;

    /// <summary>The schema check of one model made from the template, under the model's own name.</summary>
    public Func<ITransformer, CancellationToken, ValueTask> CreateValidator(MLContext context, string modelName) =>
        (model, cancellationToken) =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            PredictionSchema.Check<TData, TPrediction>(context, model, modelName, PoolOptions.EngineOptions);
            return ValueTask.CompletedTask;
        };

    /// <summary>The settings, among <paramref name="templates"/>, of the template that made <paramref name="cache"/>, if one of them did.</summary>
    public static TemplatePoolSettings<TData, TPrediction>? Of(IModelCache<ITransformer> cache, TemplatePoolSettings<TData, TPrediction>[] templates)
    {
        if (cache is not ModelCache<ITransformer> { TemplateName: { } templateName })
        {
            return null;
        }

        foreach (TemplatePoolSettings<TData, TPrediction> settings in templates)
        {
            if (settings.TemplateName == templateName)
            {
                return settings;
            }
        }

        return null;
    }
}
