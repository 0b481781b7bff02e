namespace ModelCaching.Loading;

/// <summary>A load waiting in <see cref="ModelLoadLimiter"/> for one of its slots.</summary>
internal interface ILoadSlotWaiter
{
    /// <summary>
    /// A slot is free for this load: <see langword="true"/> when it takes the slot (it must then call
    /// <see cref="ModelLoadLimiter.Release"/> exactly once), <see langword="false"/> when it no longer wants it
    /// (abandoned while it waited): the slot goes to the next.
    /// </summary>
    bool OnSlot();
}
