namespace ModelCaching.Redis.Instance;

/// <summary>
/// The placing members that left this instance's view of the membership (their entry is gone: expired because the
/// instance died, or removed because it left), each with the placed models it last reported loaded, until the departure
/// is confirmed: the member is still absent from a view read at least <c>confirmAfter</c> (two heartbeats) after the
/// first view without it, and, when this instance's own connection to Redis came back lately, at least
/// <c>settleAfterReconnect</c> (the members' time to live) after that. Then the names it reported that this instance
/// owns by the view of that read are to be warmed here, as a handoff's are; their next request finds them loaded rather
/// than loading them cold.
/// </summary>
/// <remarks>
/// <para>
/// Why wait for a confirmation: a live member that reaches Redis writes its entry every heartbeat, so an absence that
/// outlasts two (one heartbeat's margin over the period, for a late write) is a member that is gone for the routers too
/// (they compute owners from the same entries). A shorter absence is not a death: Redis lost its entries (flushed, or
/// restarted empty) and they are being written again (the first view read after that may hold this instance alone), or
/// an entry expired under a late heartbeat. After a reconnect the others reconnect too, each on its own back-off, so
/// there the wait is the members' time to live: a member that has not written its entry again by then is dropped by the
/// routers as well. Warming on such a view would load every name the others hold and then hand them all back. A failed
/// read applies no view, so no member leaves on it.
/// </para>
/// <para>
/// Bounded: a member is kept from the first view without it until its departure is confirmed, until it is back, or, while
/// reconnects keep deferring the confirmation, for at most <c>confirmAfter</c> + <c>settleAfterReconnect</c> (they do not
/// pile departures up), with the one list its last entry held; nothing of older views is kept. Times are monotonic (the
/// caller's <see cref="TimeProvider.GetElapsedTime(long)"/>), so a step of the wall clock confirms or defers nothing.
/// Only the agent's loop calls it, but for <see cref="Reconnected"/>.
/// </para>
/// </remarks>
internal sealed class PlacementDepartures(TimeSpan confirmAfter, TimeSpan settleAfterReconnect)
{
    private readonly Dictionary<string, Departure> _pending = new(StringComparer.Ordinal);

    // Until when no departure is confirmed (ticks of the monotonic time the caller passes): set from the connection's
    // event, read by the agent's loop.
    private long _settledAtTicks = long.MinValue;

    /// <summary>This instance's connection to Redis came back at <paramref name="at"/> (any thread).</summary>
    public void Reconnected(TimeSpan at) => Volatile.Write(ref _settledAtTicks, (at + settleAfterReconnect).Ticks);

    /// <summary>How many departed members wait for their confirmation.</summary>
    public int Pending => _pending.Count;

    /// <summary>
    /// Takes the view read at <paramref name="now"/> (after <paramref name="previous"/>, or <see langword="null"/> for the
    /// first): notes who left, forgets who came back, and returns the names of confirmed departures that
    /// <paramref name="view"/> says this instance owns, each with the member that held it (in the order reported).
    /// </summary>
    public List<(string Name, string From)> Next(PlacementView? previous, PlacementView view, TimeSpan now)
    {
        var toWarm = new List<(string Name, string From)>();
        if (_pending.Count == 0 && (previous is null || view.SameMembers(previous)))
        {
            return toWarm; // the usual read: nobody left, nobody waits
        }

        foreach (string id in _pending.Keys.Where(view.Contains).ToList())
        {
            _pending.Remove(id); // back before its departure was confirmed: alive after all
        }

        foreach (string id in previous?.Members ?? [])
        {
            if (!view.Contains(id) && previous!.PlacedOn(id) is { Count: > 0 } placed)
            {
                _pending.TryAdd(id, new Departure(now, placed));
            }
        }

        if (now.Ticks < Volatile.Read(ref _settledAtTicks))
        {
            foreach (string id in _pending.Where(p => now - p.Value.Since > confirmAfter + settleAfterReconnect).Select(p => p.Key).ToList())
            {
                // Still deferred past a whole window and settle (reconnects keep coming): its names were asked for, and
                // loaded, by now. One reconnect only defers; the departure is confirmed once it settles.
                _pending.Remove(id);
            }

            return toWarm; // the others may still be writing their entries again after Redis came back
        }

        foreach ((string id, Departure departure) in _pending.Where(p => now - p.Value.Since >= confirmAfter).ToList())
        {
            _pending.Remove(id);
            foreach (string name in departure.Placed)
            {
                if (view.Owns(name))
                {
                    toWarm.Add((name, id));
                }
            }
        }

        return toWarm;
    }

    private readonly record struct Departure(TimeSpan Since, IReadOnlyList<string> Placed);
}
