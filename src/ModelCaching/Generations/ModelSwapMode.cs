namespace ModelCaching;

/// <summary>How a reload replaces the serving generation.</summary>
public enum ModelSwapMode
{
    /// <summary>
    /// Load the new generation beside the serving one, then swap atomically. No caller ever waits,
    /// but two generations are in memory during the load.
    /// </summary>
    LoadBeside,

    /// <summary>
    /// For models too large to hold twice: unload the serving generation first, then load the new one.
    /// Callers wait for the load (up to their own cancellation). When the new content fails, the previous
    /// content is loaded again.
    /// </summary>
    UnloadFirst,
}
