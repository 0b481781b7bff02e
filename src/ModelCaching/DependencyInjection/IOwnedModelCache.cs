namespace ModelCaching;

/// <summary>
/// A cache that <see cref="ModelCacheProvider"/> made and owns. The provider disposes all its caches together: each is
/// closed at once, then their load threads are awaited in parallel, under one deadline for all of them.
/// </summary>
internal interface IOwnedModelCache
{
    /// <summary>
    /// From now on the cache's own <see cref="IAsyncDisposable.DisposeAsync"/> (the container calls it too, for a keyed
    /// singleton) disposes without waiting for load threads: the owner waits for them, for every cache at once.
    /// </summary>
    void AttachOwner();

    /// <summary>Disposes the cache (once; later calls only return the task) and returns a task that completes when the loads running at disposal have ended, which for a hung callback may be never.</summary>
    Task CloseAsync();
}
