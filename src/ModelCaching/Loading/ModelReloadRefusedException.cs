namespace ModelCaching;

/// <summary>
/// An explicit reload found the content a rollback went back from (the same content hash) and did not load it: a
/// reload must not silently undo a rollback. Pass <c>force: true</c> to <see cref="IModelCache.ReloadAsync(bool, string?, CancellationToken)"/>
/// (<c>POST {pattern}/{name}/reload?force=true</c>) to load it anyway. The serving version is unchanged. An
/// <see cref="InvalidOperationException"/>: the request conflicts with the model's state (the admin endpoint answers 409).
/// </summary>
public sealed class ModelReloadRefusedException : InvalidOperationException
{
    /// <summary>Creates the exception for the model <paramref name="modelName"/>.</summary>
    /// <param name="modelName">The model's name.</param>
    /// <param name="rolledBackVersionId">The version (content hash) the source has, which was rolled back from.</param>
    /// <param name="servingVersionId">The version serving now.</param>
    public ModelReloadRefusedException(string modelName, string rolledBackVersionId, string servingVersionId)
        : base($"Model '{modelName}' was not reloaded: the source has version {rolledBackVersionId}, which was rolled back from; version {servingVersionId} keeps serving. Reload with force to load it anyway (ReloadAsync(force: true), or POST .../reload?force=true).")
    {
        ModelName = modelName;
        RolledBackVersionId = rolledBackVersionId;
        ServingVersionId = servingVersionId;
    }

    /// <summary>The model's name.</summary>
    public string ModelName { get; }

    /// <summary>The version the source has, which a rollback went back from.</summary>
    public string RolledBackVersionId { get; }

    /// <summary>The version that keeps serving.</summary>
    public string ServingVersionId { get; }
}
