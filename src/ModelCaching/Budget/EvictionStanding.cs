namespace ModelCaching.Budget;

/// <summary>Whether a budget may evict a model now.</summary>
internal enum EvictionStanding
{
    /// <summary>Not now: pinned, eager, not serving, unloading first for a swap, or disposed.</summary>
    Kept,

    /// <summary>Serving and Ready: evicted by value.</summary>
    Evictable,

    /// <summary>
    /// Degraded (serving its last good model after a failed reload): evicted only when the evictable models cannot free
    /// enough, so a budget full of degraded models never stops other loads.
    /// </summary>
    LastResort,
}
