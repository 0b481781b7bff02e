namespace ModelCaching.Budget;

/// <summary>What a <see cref="MemoryBudget"/> asks of a cache it holds memory for.</summary>
internal interface IBudgetedCache
{
    string Name { get; }

    /// <summary>Whether the budget may evict the model now, and how readily (read under the budget's lock, without the cache's).</summary>
    EvictionStanding Standing { get; }

    /// <summary>Unloads the serving generation for the budget; <see langword="false"/> when nothing was unloaded (its state changed meanwhile).</summary>
    bool Evict();

    /// <summary>Uses (hits and misses) since the last call. Called under the budget's lock only.</summary>
    long TakeUses();
}
