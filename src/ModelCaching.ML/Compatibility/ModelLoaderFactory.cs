using Microsoft.Extensions.Primitives;
using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// A user's <see cref="ModelLoader"/> as a model cache's factory: each load takes <see cref="ModelLoader.GetModel"/>
/// (the same instance again is "unchanged"), and its reload token is the cache's change token, so a custom loader gets
/// the cache's pipeline (schema check before the swap, fail-safe, metrics, logs).
/// </summary>
internal sealed class ModelLoaderFactory(ModelLoader loader) : IModelFactory<ITransformer>
{
    public string Description { get; } = $"model loader {loader.GetType().FullName}";

    public ValueTask<ITransformer> CreateAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<ITransformer>(loader.GetModel() ?? throw new InvalidOperationException($"{loader.GetType().FullName}.GetModel() returned null."));
    }

    public IChangeToken? GetChangeToken() => loader.GetReloadToken();
}
