using System.Runtime.CompilerServices;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// Puts a user's <see cref="ModelLoader"/> in front of a model cache: its reload token is the source's
/// change token, and each load takes <see cref="ModelLoader.GetModel"/>, so a custom loader gets the
/// cache's pipeline (schema check before the swap, fail-safe, metrics, logs).
/// </summary>
internal sealed class ModelLoaderSource : IModelSource, IModelLoader<ITransformer>
{
    private readonly ModelLoader _loader;

    // A version id per model instance: the same instance handed out again is "unchanged", not a reload.
    private readonly ConditionalWeakTable<ITransformer, string> _versions = [];
    private long _nextVersion;
    private ITransformer? _fetched;

    public ModelLoaderSource(ModelLoader loader)
    {
        _loader = loader;
        Description = $"model loader {loader.GetType().FullName}";
    }

    public string Description { get; }

    public ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ITransformer model = _loader.GetModel() ?? throw new InvalidOperationException($"{_loader.GetType().FullName}.GetModel() returned null.");
        string version = _versions.GetValue(model, _ => $"loader-model-{Interlocked.Increment(ref _nextVersion)}");
        Volatile.Write(ref _fetched, model);
        return new ValueTask<ModelArtifact?>(ModelArtifact.WithoutContent(Description, version));
    }

    public IChangeToken? GetChangeToken() => _loader.GetReloadToken();

    // The cache runs fetch and load one after the other in its single-flight pipeline.
    public ValueTask<ITransformer> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken) =>
        new(Volatile.Read(ref _fetched) ?? throw new InvalidOperationException("The model was not fetched before it was loaded."));
}
