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
}
