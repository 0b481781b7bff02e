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
    /// The cache keeps <paramref name="order"/>, the provider's count of caches made when it made this one (above 0): the
    /// provider disposes its caches newest first without a table of its own (issue 18: what a known name costs).
    /// </summary>
    void AttachOwner(long order);

    /// <summary>The order given to <see cref="AttachOwner"/>, or 0.</summary>
    long OwnerOrder { get; }

    /// <summary>Disposes the cache (once; later calls only return the task) and returns a task that completes when the loads running at disposal have ended, which for a hung callback may be never.</summary>
    Task CloseAsync();
}
