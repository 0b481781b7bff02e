namespace ModelCaching.Generations;

/// <summary>What happens to a <see cref="ModelSlot{TModel}"/>; <see cref="SlotTransitions"/> says where each one leads.</summary>
internal enum SlotEvent
{
    /// <summary>A load began while nothing serves.</summary>
    LoadStarted,

    /// <summary>A new generation serves: a load or a rollback swapped it in.</summary>
    Swapped,

    /// <summary>A load found the serving generation's content unchanged at the source.</summary>
    SourceUnchanged,

    /// <summary>A load failed while a generation serves: it keeps serving (fail-safe).</summary>
    FailedWhileServing,

    /// <summary>A load failed and nothing serves.</summary>
    FailedWithNothingServing,

    /// <summary>An unload-first swap (<see cref="ModelSwapMode.UnloadFirst"/>) took the serving generation away before loading.</summary>
    UnloadedForSwap,

    /// <summary>After a failed unload-first swap, the previous content serves again.</summary>
    Restored,

    /// <summary>The serving generation was unloaded: idle timeout or <see cref="IModelCache.Invalidate"/>.</summary>
    Unloaded,

    /// <summary>The memory budget took the serving generation.</summary>
    Evicted,

    /// <summary>The cache was disposed.</summary>
    Disposed,
}
