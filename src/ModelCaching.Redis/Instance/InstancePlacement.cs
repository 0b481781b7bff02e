using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelCaching.Redis.Diagnostics;
using ModelCaching.Redis.Records;
using StackExchange.Redis;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// The instance side of placement (<see cref="RedisFleetOptions.Placement"/>): which models of placed templates this
/// instance owns, by its last view of the live membership (<see cref="PlacementView"/>), and the handoff when that view
/// changes. A name it does not own is refused with <see cref="ModelNotOwnedException"/> when its cache would be made and
/// when a load would start, never on the hit path. With no view yet (Redis never reached) it serves every name (fail
/// open); with a stale one (Redis lost later) it keeps the last.
/// </summary>
/// <remarks>
/// The handoff reads state, not events, so a missed message never leaves it stuck: on each membership read, a name this
/// instance owns that a non-owner reports loaded is warmed here (it is moving to this instance); so is a name this
/// instance owns that a member which left the view (died or left) last reported loaded, once that member is still
/// absent two heartbeats later (<see cref="PlacementDepartures"/>); a name loaded here that this instance no longer owns is
/// evicted once every owner reports it loaded, or after <see cref="Grace"/>.
/// </remarks>
internal sealed class InstancePlacement(FleetSettings settings, IServiceProvider services, TimeProvider time, ILogger logger)
{
    // The names of placed models whose cache this instance made (a fleet source holds each); a dropped one leaves.
    private readonly ConcurrentDictionary<string, int> _made = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _lostSince = new(StringComparer.Ordinal); // the agent's loop only
    private readonly PlacementDepartures _departures = new(settings.HeartbeatInterval * 2, settings.MemberTimeToLive); // the agent's loop, and ConnectionRestored
    private readonly FleetMemberReader _reader = new(); // the agent's loop only
    private readonly long _started = time.GetTimestamp();
    private (IReadOnlyList<FleetMember> Read, PlacementView View)? _built; // the last view built, and from what (the agent's loop only)
    private PlacementView? _view;
    private IModelCacheProvider? _provider;
    private int _failOpenLogged;
    private long _rounds;

    /// <summary>Placement's loads ahead of requests.</summary>
    public PlacementWarmer Warmer { get; } = new(settings, services, logger);

    /// <summary>Whether the instance places any template.</summary>
    public bool Enabled => settings.PlacedTemplates is not null;

    /// <summary>How long an instance keeps a name it lost when its new owners do not report it loaded: two heartbeats.</summary>
    public TimeSpan Grace => settings.HeartbeatInterval * 2;

    /// <summary>The last view of the membership, or <see langword="null"/> before the first read.</summary>
    public PlacementView? View => Volatile.Read(ref _view);

    /// <summary>How many loads ahead of requests (a handoff's, a departure's) are running or waiting for their turn.</summary>
    public int Warming => Warmer.Count;

    /// <summary>How many membership reads were applied (tests wait on it).</summary>
    internal long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Where refusals and handoffs are counted (set once, by the agent).</summary>
    public FleetMetrics? Metrics { get; set; }

    public bool IsPlaced(string? templateName) => templateName is not null && settings.PlacedTemplates?.Contains(templateName) == true;

    /// <summary>Throws <see cref="ModelNotOwnedException"/> when the view says another instance owns <paramref name="modelName"/>.</summary>
    public void EnsureOwned(string modelName)
    {
        PlacementView? view = Volatile.Read(ref _view);
        if (view is null)
        {
            if (Interlocked.Exchange(ref _failOpenLogged, 1) == 0)
            {
                FleetLog.PlacementFailOpen(logger, settings.FleetName, settings.InstanceId);
            }

            return;
        }

        if (!view.Owns(modelName))
        {
            Metrics?.RefusedNotOwned();
            throw view.NotOwned(modelName);
        }
    }

    /// <summary>A fleet source of the placed model <paramref name="modelName"/> was made (its cache is being made).</summary>
    public void Track(string modelName) => _made.AddOrUpdate(modelName, 1, static (_, holders) => holders + 1);

    /// <summary>That source was disposed (the cache dropped, or the provider disposed).</summary>
    public void Untrack(string modelName)
    {
        while (_made.TryGetValue(modelName, out int holders))
        {
            if (holders <= 1 ? _made.TryRemove(KeyValuePair.Create(modelName, holders)) : _made.TryUpdate(modelName, holders - 1, holders))
            {
                return;
            }
        }
    }

    public bool IsTracked(string modelName) => _made.ContainsKey(modelName);

    /// <summary>The placed models loaded here now (serving a generation), in ordinal order.</summary>
    public List<string> Loaded()
    {
        var loaded = new List<string>();
        foreach (string name in _made.Keys)
        {
            if (CacheOf(name) is { } cache && IsServing(cache))
            {
                loaded.Add(name);
            }
        }

        loaded.Sort(StringComparer.Ordinal);
        return loaded;
    }

    /// <summary>How many placed models loaded here this instance owns (all of them with no view).</summary>
    public int OwnedLoaded()
    {
        PlacementView? view = View;
        int owned = 0;
        foreach (string name in Loaded())
        {
            owned += view is null || view.Owns(name) ? 1 : 0;
        }

        return owned;
    }

    /// <summary>The bytes used and the limit of the budget(s) the placed templates' models count against, or nulls without one.</summary>
    public (long? Used, long? Limit) Memory()
    {
        IReadOnlyList<ModelMemoryBudgetStatus> budgets = Provider.GetMemoryBudgets();
        long used = 0, limit = 0;
        bool any = false;
        foreach (ModelMemoryBudgetStatus budget in budgets)
        {
            if (settings.PlacedTemplates!.Contains(budget.Scope))
            {
                (used, limit, any) = (used + budget.UsedBytes, limit + budget.LimitBytes, true);
            }
        }

        // A placed template without a budget of its own counts against the provider's.
        if (!any && budgets.FirstOrDefault(static b => b.Scope == "provider") is { } shared)
        {
            return (shared.UsedBytes, shared.LimitBytes);
        }

        return any ? (used, limit) : (null, null);
    }

    /// <summary>
    /// On the agent's loop, after a membership read: takes the new view and moves what changed owners (warms what comes
    /// here, evicts what went elsewhere and is safe to let go). Returns whether anything was evicted (the entry changed).
    /// </summary>
    public bool Apply(IReadOnlyList<FleetMember> members)
    {
        PlacementView view = NextView(members);
        PlacementView? previous = Interlocked.Exchange(ref _view, view);
        if (!view.SameMembers(previous))
        {
            FleetLog.PlacementMembersChanged(logger, settings.FleetName, settings.InstanceId, string.Join(", ", view.Members), settings.Replicas);
        }

        List<string> loaded = Loaded();
        Warm(view, loaded);
        foreach ((string name, string from) in _departures.Next(previous, view, Elapsed()))
        {
            // Its holder left the membership (died, or left) and this instance owns it now.
            if (loaded.BinarySearch(name, StringComparer.Ordinal) < 0)
            {
                Warmer.Start(this, name, from);
            }
        }

        bool released = Release(view, loaded);
        Interlocked.Increment(ref _rounds);
        return released;
    }

    /// <summary>
    /// The connection to Redis came back: the others reconnect on their own back-off and write their entries again, so a
    /// member missing from the views read in the next <see cref="FleetSettings.MemberTimeToLive"/> is not taken for dead.
    /// </summary>
    public void ConnectionRestored()
    {
        // Before the first view this is the first connection, not a return: there is nobody to take for gone yet.
        if (Volatile.Read(ref _view) is not null)
        {
            _departures.Reconnected(Elapsed());
        }
    }

    // Monotonic time for the departures (a step of the wall clock must not confirm or defer one).
    private TimeSpan Elapsed() => time.GetElapsedTime(_started);

    /// <summary>The members in the entries read from Redis, read exactly as the router reads them (<see cref="FleetMemberReader"/>).</summary>
    public IReadOnlyList<FleetMember> ReadMembers(RedisValue[] entries) => _reader.Read(entries);

    /// <summary>
    /// The view of <paramref name="members"/>: the last view again when they are the very list it was built from (the
    /// reader returns its last list while no field placement reads changed), so an idle fleet's read builds nothing; else
    /// a new one.
    /// </summary>
    internal PlacementView NextView(IReadOnlyList<FleetMember> members)
    {
        if (_built is ({ } read, { } last) && ReferenceEquals(read, members))
        {
            return last;
        }

        var view = new PlacementView(members, settings.InstanceId, settings.Address, settings.Replicas);
        _built = (members, view);
        return view;
    }

    private void Warm(PlacementView view, List<string> loaded)
    {
        foreach ((string name, HashSet<string> holders) in view.LoadedElsewhere)
        {
            if (loaded.BinarySearch(name, StringComparer.Ordinal) >= 0 || Warmer.IsWarming(name) || !view.Owns(name))
            {
                continue;
            }

            // Held by an instance that no longer owns it: it moves here, so load it before traffic arrives.
            IReadOnlyList<string> owners = view.Owners(name);
            string? from = holders.FirstOrDefault(holder => !owners.Contains(holder, StringComparer.Ordinal));
            if (from is not null)
            {
                Warmer.Start(this, name, from);
            }
        }
    }

    private bool Release(PlacementView view, List<string> loaded)
    {
        DateTimeOffset now = time.GetUtcNow();
        bool released = false;
        foreach (string name in _lostSince.Keys.Where(name => loaded.BinarySearch(name, StringComparer.Ordinal) < 0 || view.Owns(name)).ToList())
        {
            _lostSince.Remove(name); // owned again, or gone meanwhile
        }

        foreach (string name in loaded)
        {
            if (view.Owns(name))
            {
                continue; // the usual case, on every read for every name loaded here: no owners' list is built
            }

            IReadOnlyList<string> owners = view.Owners(name);

            if (!_lostSince.TryGetValue(name, out DateTimeOffset since))
            {
                _lostSince[name] = since = now;
            }

            bool handedOver = owners.All(owner => view.IsLoadedOn(owner, name));
            if (!handedOver && now - since < Grace)
            {
                continue;
            }

            _lostSince.Remove(name);
            if (CacheOf(name) is { } cache)
            {
                // Leases taken before keep their generation; the next use of the name loads again, and is refused here.
                cache.Invalidate();
                released = true;
                Metrics?.HandedOff();
                FleetLog.PlacementReleased(logger, settings.FleetName, name, string.Join(", ", owners), handedOver);
            }
        }

        return released;
    }

    internal IModelCacheProvider Provider => _provider ??= services.GetRequiredService<IModelCacheProvider>();

    /// <summary>Whether <paramref name="name"/> is loaded here (serving, or loading a next generation).</summary>
    internal bool IsServingHere(string name) => CacheOf(name) is { } cache && IsServing(cache);

    private IModelCache? CacheOf(string name)
    {
        try
        {
            return Provider.TryGetCache(name, out IModelCache? cache) ? cache : null;
        }
        catch (ModelLoadException)
        {
            return null; // the name is being refused or dropped right now
        }
    }

    private static bool IsServing(IModelCache cache) => cache.Version is not null && cache.State is ModelCacheState.Ready or ModelCacheState.Degraded or ModelCacheState.Loading;
}
