namespace ModelCaching;

/// <summary>
/// Why a load was started. Used as the <c>reason</c> tag of the <c>modelcache.loads</c> metric and in logs.
/// </summary>
public enum ModelLoadReason
{
    /// <summary>The first use of a lazy model, or a use after an unload.</summary>
    FirstUse,

    /// <summary>The eager start-up of the host.</summary>
    Startup,

    /// <summary>An explicit call to <see cref="IModelCache.ReloadAsync(CancellationToken)"/>.</summary>
    Explicit,

    /// <summary>The source reported a change (file watcher or HTTP polling).</summary>
    SourceChanged,

    /// <summary>The time-to-live is running out and the model is refreshed ahead of expiry.</summary>
    RefreshAhead,

    /// <summary>A retry after a failed load, on the backoff schedule.</summary>
    Retry,

    /// <summary>An explicit call to <see cref="IModelCache.RollbackAsync(CancellationToken)"/>.</summary>
    Rollback,
}
