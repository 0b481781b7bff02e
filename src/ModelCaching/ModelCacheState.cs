namespace ModelCaching;

/// <summary>
/// The lifecycle state of one cached model.
/// </summary>
public enum ModelCacheState
{
    /// <summary>No model has been loaded yet; the first use (or the eager start-up) loads it.</summary>
    NotLoaded,

    /// <summary>The first load is running; nothing is serving yet.</summary>
    Loading,

    /// <summary>A model is loaded and serving; the last load attempt succeeded.</summary>
    Ready,

    /// <summary>
    /// A model is serving, but the last reload failed: the cache keeps serving the last good
    /// generation and retries with backoff.
    /// </summary>
    Degraded,

    /// <summary>No model is serving and the last load failed; callers get a <see cref="ModelLoadException"/>.</summary>
    Failed,

    /// <summary>The model was unloaded (idle timeout, <see cref="IModelCache.Invalidate"/> or disposal); the next use loads it again.</summary>
    Unloaded,

    /// <summary>
    /// The model was evicted to keep its memory budget (<see cref="ModelCacheOptions.MemoryBudgetBytes"/>,
    /// <see cref="ModelTemplateOptions.MemoryBudgetBytes"/>); the next use loads it again.
    /// </summary>
    Evicted,
}
