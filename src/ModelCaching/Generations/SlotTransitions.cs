using System.Collections.Frozen;
using static ModelCaching.Generations.SlotEvent;

namespace ModelCaching.Generations;

/// <summary>
/// The state machine of a <see cref="ModelSlot{TModel}"/>, as one table: each row is an allowed transition, and a
/// (state, event) pair with no row is refused (the slot then changes nothing). <see cref="ModelSlot{TModel}"/> changes its
/// state only through <see cref="TryNext"/>. Some events also need a generation serving, or none: the slot checks that
/// first (a <see cref="SlotState.Loading"/> or <see cref="SlotState.Failed"/> slot may serve a generation restored after a failed
/// unload-first swap).
/// </summary>
internal static class SlotTransitions
{
    /// <summary>Every allowed transition, from → on → to.</summary>
    public static IReadOnlyList<(SlotState From, SlotEvent On, SlotState To)> Rows { get; } =
    [
        // A load begins with nothing serving.
        (SlotState.NotLoaded, LoadStarted, SlotState.Loading),
        (SlotState.Loading, LoadStarted, SlotState.Loading),
        (SlotState.Failed, LoadStarted, SlotState.Loading),
        (SlotState.Unloaded, LoadStarted, SlotState.Loading),
        (SlotState.Evicted, LoadStarted, SlotState.Loading),

        // A new generation serves, whatever served before (a rollback too).
        (SlotState.NotLoaded, Swapped, SlotState.Ready),
        (SlotState.Loading, Swapped, SlotState.Ready),
        (SlotState.Ready, Swapped, SlotState.Ready),
        (SlotState.Degraded, Swapped, SlotState.Ready),
        (SlotState.Failed, Swapped, SlotState.Ready),
        (SlotState.Unloaded, Swapped, SlotState.Ready),
        (SlotState.Evicted, Swapped, SlotState.Ready),

        // The source is back to the serving content: nothing is wrong any more.
        (SlotState.Degraded, SourceUnchanged, SlotState.Ready),

        // Fail-safe: a failed load keeps the serving generation.
        (SlotState.Ready, FailedWhileServing, SlotState.Degraded),
        (SlotState.Degraded, FailedWhileServing, SlotState.Degraded),
        (SlotState.Loading, FailedWhileServing, SlotState.Degraded),
        (SlotState.Failed, FailedWhileServing, SlotState.Degraded),

        // Nothing serves: callers get the failure (and, for a while, at once: the cool-down).
        (SlotState.NotLoaded, FailedWithNothingServing, SlotState.Failed),
        (SlotState.Loading, FailedWithNothingServing, SlotState.Failed),
        (SlotState.Failed, FailedWithNothingServing, SlotState.Failed),
        (SlotState.Unloaded, FailedWithNothingServing, SlotState.Failed),
        (SlotState.Evicted, FailedWithNothingServing, SlotState.Failed),

        // Unload first, then load: nothing serves while the new generation loads.
        (SlotState.Ready, UnloadedForSwap, SlotState.Loading),
        (SlotState.Degraded, UnloadedForSwap, SlotState.Loading),
        (SlotState.Loading, UnloadedForSwap, SlotState.Loading),
        (SlotState.Failed, UnloadedForSwap, SlotState.Loading),

        // The previous content serves again after a failed unload-first swap; the failure that follows says Degraded
        // (or said Failed already, when the attempt timed out during the restore).
        (SlotState.Loading, Restored, SlotState.Loading),
        (SlotState.Failed, Restored, SlotState.Failed),

        // Idle timeout or Invalidate: whatever serves goes.
        (SlotState.Ready, Unloaded, SlotState.Unloaded),
        (SlotState.Degraded, Unloaded, SlotState.Unloaded),
        (SlotState.Loading, Unloaded, SlotState.Unloaded),
        (SlotState.Failed, Unloaded, SlotState.Unloaded),

        // The budget evicts only a model that serves steadily (Degraded as a last resort), never one unloading for a swap.
        (SlotState.Ready, Evicted, SlotState.Evicted),
        (SlotState.Degraded, Evicted, SlotState.Evicted),

        // Disposal ends everything; a disposed slot refuses every event.
        (SlotState.NotLoaded, Disposed, SlotState.Disposed),
        (SlotState.Loading, Disposed, SlotState.Disposed),
        (SlotState.Ready, Disposed, SlotState.Disposed),
        (SlotState.Degraded, Disposed, SlotState.Disposed),
        (SlotState.Failed, Disposed, SlotState.Disposed),
        (SlotState.Unloaded, Disposed, SlotState.Disposed),
        (SlotState.Evicted, Disposed, SlotState.Disposed),
    ];

    private static readonly FrozenDictionary<(SlotState, SlotEvent), SlotState> Table =
        Rows.ToFrozenDictionary(static row => (row.From, row.On), static row => row.To);

    /// <summary>Where <paramref name="on"/> leads from <paramref name="from"/>.</summary>
    /// <returns><see langword="false"/> when the table has no such transition: the event is refused.</returns>
    public static bool TryNext(SlotState from, SlotEvent on, out SlotState to) => Table.TryGetValue((from, on), out to);
}
