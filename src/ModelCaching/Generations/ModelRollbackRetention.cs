namespace ModelCaching;

/// <summary>What a cache keeps of the version it replaced, for <see cref="IModelCache.RollbackAsync(CancellationToken)"/>.</summary>
public enum ModelRollbackRetention
{
    /// <summary>
    /// Keep the previous version's bytes: a rollback loads them again through the loader, validators and
    /// warm-ups (seconds for a large model), and only one model stays in memory. The serving generation keeps its
    /// own bytes too (they are the rollback bytes after the next swap); both are charged to a memory budget with the
    /// model, and an unload lets them go.
    /// </summary>
    Artifact,

    /// <summary>
    /// Keep the previous generation loaded: a rollback is an instant swap, at the cost of holding two models
    /// in memory. The kept generation is released by the next reload, an unload or disposal.
    /// </summary>
    Generation,

    /// <summary>
    /// Keep nothing, not even the serving version's bytes: <see cref="IModelCache.RollbackAsync(CancellationToken)"/> has nothing to go
    /// back to, and a model costs only its own size.
    /// </summary>
    None,
}
