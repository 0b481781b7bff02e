namespace ModelCaching;

/// <summary>A loader that calls a delegate.</summary>
public sealed class DelegateModelLoader<TModel> : IModelLoader<TModel>
    where TModel : class
{
    private readonly Func<ModelArtifact, CancellationToken, ValueTask<TModel>> _load;

    /// <summary>Creates a loader over <paramref name="load"/>.</summary>
    public DelegateModelLoader(Func<ModelArtifact, CancellationToken, ValueTask<TModel>> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        _load = load;
    }

    /// <inheritdoc />
    public ValueTask<TModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken) => _load(artifact, cancellationToken);
}
