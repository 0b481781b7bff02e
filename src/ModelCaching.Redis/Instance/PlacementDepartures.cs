namespace ModelCaching.Redis.Instance;

/// <summary>
/// The placing members that left this instance's view of the membership (their entry is gone: expired because the
/// instance died, or removed because it left), each with the placed models it last reported loaded, until the departure
/// is confirmed: the member is still absent from a view read at least <c>confirmAfter</c> (one heartbeat) after the
/// first view without it. Then the names it reported that this instance owns by the view of that read are to be warmed
/// here, as a handoff's are; their next request finds them loaded rather than loading them cold.
/// </summary>
/// <remarks>
/// <para>
/// Why wait for a confirmation: a live member that reaches Redis writes its entry every heartbeat, so an absence that
/// outlasts one is a member that is gone for the routers too (they compute owners from the same entries). An absence
/// shorter than that is not a death: Redis restarted empty and the entries are being written again (the first view read
/// after a reconnect may hold this instance alone), or an entry expired under a late heartbeat. Warming on such a view
/// would load every name the others hold and then hand them all back. A failed read applies no view, so no member
/// leaves on it.
/// </para>
/// <para>
/// Bounded: a member is kept from the first view without it to the first read a heartbeat later (or until it is back),
/// with the one list its last entry held; nothing of older views is kept. Only the agent's loop calls it.
/// </para>
/// </remarks>
internal sealed class PlacementDepartures(TimeSpan confirmAfter)
{
    private readonly Dictionary<string, Departure> _pending = new(StringComparer.Ordinal);

    /// <summary>How many departed members wait for their confirmation.</summary>
    public int Pending => _pending.Count;

    /// <summary>
    /// Takes the view read at <paramref name="now"/> (after <paramref name="previous"/>, or <see langword="null"/> for the
    /// first): notes who left, forgets who came back, and returns the names of confirmed departures that
    /// <paramref name="view"/> says this instance owns, each with the member that held it (in the order reported).
    /// </summary>
    public List<(string Name, string From)> Next(PlacementView? previous, PlacementView view, DateTimeOffset now)
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

    private readonly record struct Departure(DateTimeOffset Since, IReadOnlyList<string> Placed);
}
