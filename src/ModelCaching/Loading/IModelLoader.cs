namespace ModelCaching;

/// <summary>
/// Turns the bytes of a model into a model object. ML.NET and ONNX Runtime plug in here.
/// </summary>
/// <typeparam name="TModel">The model type.</typeparam>
public interface IModelLoader<TModel>
    where TModel : class
{
    /// <summary>
    /// Loads a model from <paramref name="artifact"/>. Throw to reject the content; the cache wraps the
    /// exception in a <see cref="ModelLoadException"/> and keeps serving the last good model.
    /// </summary>
    ValueTask<TModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken);
}
