namespace ModelCaching;

/// <summary>What a cache keeps of the version it replaced, for <see cref="IModelCache.RollbackAsync"/>.</summary>
public enum ModelRollbackRetention
{
    /// <summary>
    /// Keep the previous version's bytes: a rollback loads them again through the loader, validators and
    /// warm-ups (seconds for a large model), and only one model stays in memory.
    /// </summary>
    Artifact,

    /// <summary>
    /// Keep the previous generation loaded: a rollback is an instant swap, at the cost of holding two models
    /// in memory. The kept generation is released by the next reload, an unload or disposal.
    /// </summary>
    Generation,

    /// <summary>Keep nothing: <see cref="IModelCache.RollbackAsync"/> has nothing to go back to.</summary>
    None,
}
