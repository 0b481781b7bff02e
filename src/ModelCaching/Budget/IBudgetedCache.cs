namespace ModelCaching.Budget;

/// <summary>
/// What a <see cref="MemoryBudget"/> asks a cache to do: leave memory. All the budget needs to know about the cache
/// (whether it may evict it now, how much it is used, what it holds) is pushed into the cache's
/// <see cref="BudgetMember"/>, so the budget reads fields under its lock and calls a cache only outside it.
/// </summary>
internal interface IBudgetedCache
{
    string Name { get; }

    /// <summary>
    /// Unloads the serving generation for the budget; <see langword="false"/> when nothing was unloaded (its state
    /// changed since it published its standing). Never called under the budget's lock.
    /// </summary>
    bool Evict();
}
