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

    /// <summary>
    /// The schema check of one model made from the template. Its validator's target is the check itself, so the
    /// provider can tell from a cache's options that this template configured it (the core keeps no template
    /// identity on a cache).
    /// </summary>
    public Func<ITransformer, CancellationToken, ValueTask> CreateValidator(MLContext context, string modelName) =>
        new SchemaCheck(this, context, modelName).Validate;

    /// <summary>The settings of the template that configured <paramref name="cache"/>, if it is one of this template's models.</summary>
    public static TemplatePoolSettings<TData, TPrediction>? Of(IModelCache<ITransformer> cache)
    {
        if (cache is not ModelCache<ITransformer> modelCache)
        {
            return null;
        }

        // Options is a snapshot (a copy): read once per cache, when its pool is made.
        foreach (Func<ITransformer, CancellationToken, ValueTask> validator in modelCache.Options.Validators)
        {
            if (validator.Target is SchemaCheck check)
            {
                return check.Settings;
            }
        }

        return null;
    }

    private sealed class SchemaCheck(TemplatePoolSettings<TData, TPrediction> settings, MLContext context, string modelName)
    {
        public TemplatePoolSettings<TData, TPrediction> Settings { get; } = settings;

        public ValueTask Validate(ITransformer model, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            PredictionSchema.Check<TData, TPrediction>(context, model, modelName, Settings.PoolOptions.EngineOptions);
            return ValueTask.CompletedTask;
        }
    }
}
