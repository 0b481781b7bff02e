namespace ModelCaching.Generations;

/// <summary>
/// The state of a <see cref="ModelSlot{TModel}"/>: the public <see cref="ModelCacheState"/> values and
/// <see cref="Disposed"/>, which the cache reports as <see cref="ModelCacheState.Unloaded"/>.
/// </summary>
internal enum SlotState
{
    /// <inheritdoc cref="ModelCacheState.NotLoaded"/>
    NotLoaded = ModelCacheState.NotLoaded,

    /// <inheritdoc cref="ModelCacheState.Loading"/>
    Loading = ModelCacheState.Loading,

    /// <inheritdoc cref="ModelCacheState.Ready"/>
    Ready = ModelCacheState.Ready,

    /// <inheritdoc cref="ModelCacheState.Degraded"/>
    Degraded = ModelCacheState.Degraded,

    /// <inheritdoc cref="ModelCacheState.Failed"/>
    Failed = ModelCacheState.Failed,

    /// <inheritdoc cref="ModelCacheState.Unloaded"/>
    Unloaded = ModelCacheState.Unloaded,

    /// <inheritdoc cref="ModelCacheState.Evicted"/>
    Evicted = ModelCacheState.Evicted,

    /// <summary>The cache was disposed: nothing serves again and no event changes the state any more.</summary>
    Disposed,
}

/// <summary>What the cache reports of a <see cref="SlotState"/>.</summary>
internal static class SlotStateExtensions
{
    /// <summary>The public state: a disposed slot says <see cref="ModelCacheState.Unloaded"/>.</summary>
    public static ModelCacheState ToPublic(this SlotState state) =>
        state == SlotState.Disposed ? ModelCacheState.Unloaded : (ModelCacheState)state;

    /// <summary>
    /// Whether a memory budget may evict the model: a Degraded one only as a last resort (its last good model is what
    /// fail-safe keeps); one reloading may go (its new generation serves when the reload ends, so no load waits on a change
    /// nobody signals); nothing serving, nothing to evict.
    /// </summary>
    public static Budget.EvictionStanding ToStanding(this SlotState state, bool serving) => !serving ? Budget.EvictionStanding.Kept : state switch
    {
        SlotState.Ready => Budget.EvictionStanding.Evictable,
        SlotState.Degraded => Budget.EvictionStanding.LastResort,
        _ => Budget.EvictionStanding.Kept,
    };
}
