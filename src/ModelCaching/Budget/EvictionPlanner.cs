using ModelCaching.Diagnostics;

namespace ModelCaching.Budget;

/// <summary>
/// The members of a budget and the choice of which to evict: it keeps one <see cref="BudgetMember"/> per model name
/// (with the name's history once its cache left, if it ever served; a member is its name's <see cref="EvictionEntry"/>), collects the ones that may be evicted now from what
/// they published, and asks <see cref="CostAwareEviction"/> which go.
/// </summary>
/// <remarks>
/// Single-threaded by contract: the budget calls it under its lock. It reads members' fields only; it never calls a
/// cache. A victim is marked <see cref="BudgetMember.Evicting"/> until its eviction ends.
/// </remarks>
internal sealed class EvictionPlanner
{
    private readonly CostAwareEviction _policy = new();
    // The members by name: a set of members compared by name, not a name-to-member map (an entry of 16 bytes, not 24: one
    // for every known name; issue 18). A joining member is the probe for its name's earlier one.
    private readonly HashSet<BudgetMember> _members = new(MemberNames.Instance);
    private readonly List<EvictionEntry> _evictable = [];
    private readonly List<EvictionEntry> _lastResort = [];
    private readonly List<EvictionEntry> _victims = [];
    private readonly List<EvictionEntry> _moreVictims = [];

    // The member whose generation was charged last: the trim ahead of need never evicts it (see PlanTrim).
    private BudgetMember? _lastCharged;

    /// <summary>Model names the budget knows: joined, or left after they served.</summary>
    public int Known => _members.Count;

    /// <summary>
    /// A cache joins: a new member for it, with its name's history when the name is known (the member of an earlier cache
    /// of that name stops being one).
    /// </summary>
    public BudgetMember Join(IBudgetedCache cache, StackRegionCounter? hits)
    {
        var member = new BudgetMember(cache, hits);
        if (_members.TryGetValue(member, out BudgetMember? earlier))
        {
            earlier.Joined = false;
            member.EverServed = earlier.EverServed;
            member.TakeHistory(earlier);
            _members.Remove(earlier); // The new member takes the entry it frees (the set's order stays as the map's was).
        }

        member.Joined = true;
        member.Entry.Resident = false;
        member.Entry.Overdraft = false;
        _members.Add(member);
        return member;
    }

    /// <summary>
    /// A cache leaves. A name that never served is forgotten (so names that do not exist cannot grow the budget's state);
    /// one that served keeps its history for when it comes back.
    /// </summary>
    public void Leave(BudgetMember member)
    {
        if (!member.Joined)
        {
            return;
        }

        member.Joined = false;
        member.Entry.Resident = false;
        member.Entry.Overdraft = false;
        if (ReferenceEquals(member, _lastCharged))
        {
            _lastCharged = null;
        }

        if (!member.EverServed)
        {
            _members.Remove(member);
        }
    }

    /// <summary>A generation of <paramref name="member"/> was charged: the policy learns its size and load cost.</summary>
    public void RecordCharge(BudgetMember member, long bytes, double loadSeconds, bool overdraft)
    {
        if (!member.Joined)
        {
            // A late charge of a cache that left: its name's entry belongs to the next cache of the name, if any.
            return;
        }

        member.EverServed = true;
        member.Entry.Overdraft = overdraft;
        _lastCharged = member;
        _policy.RecordLoad(member.Entry, loadSeconds, bytes);
    }

    /// <summary>Once per load: counts the candidate's uses (at least this one) and values it at its estimated size and cost.</summary>
    public void CountCandidate(BudgetMember candidate, long bytes, double estimatedCost)
    {
        EvictionEntry entry = candidate.Entry;
        _policy.RecordUses(entry, Math.Max(candidate.TakeUses(), 1), _members.Count);
        _policy.RecordLoad(entry, entry.Cost > 0 ? entry.Cost : estimatedCost, bytes);
    }

    /// <summary>Whether a candidate that fits is admitted, or loads into probation (see <see cref="CostAwareEviction.Admits"/>).</summary>
    public bool Admits(BudgetMember candidate)
    {
        CollectEvictable(candidate, includeLastResort: false);
        bool admitted = _policy.Admits(candidate.Entry, _evictable);
        _evictable.Clear();
        return admitted;
    }

    /// <summary>
    /// The members to evict for <paramref name="needed"/> more bytes (marked <see cref="BudgetMember.Evicting"/>), or
    /// <see langword="null"/> when there is nothing to evict. Degraded models go only when the others cannot free enough.
    /// </summary>
    public List<BudgetMember>? Plan(BudgetMember candidate, long needed, bool decideAdmission, ref bool admitted)
    {
        CollectEvictable(candidate, includeLastResort: true);
        if (decideAdmission)
        {
            admitted = _policy.SelectVictims(candidate.Entry, needed, _evictable, _victims);
        }
        else
        {
            _policy.SelectLowest(needed, _evictable, _victims);
        }

        long freed = 0;
        foreach (EvictionEntry victim in _victims)
        {
            freed += victim.Size;
        }

        if (freed < needed && _lastResort.Count > 0)
        {
            _policy.SelectLowest(needed - freed, _lastResort, _moreVictims);
            _victims.AddRange(_moreVictims);
            _moreVictims.Clear();
        }

        _evictable.Clear();
        _lastResort.Clear();
        return TakeVictims();
    }

    /// <summary>
    /// The lowest-valued evictable members for <paramref name="bytes"/> of room ahead of need: never a degraded one, and
    /// never the model charged last. That one was loaded for a caller who may not have had it yet (a not-admitted newcomer
    /// is the lowest valued of all): trimmed at once, the caller would load it again, and the trim after that load could
    /// evict it again.
    /// </summary>
    public List<BudgetMember>? PlanTrim(long bytes)
    {
        CollectEvictable(candidate: _lastCharged, includeLastResort: false);
        _policy.SelectLowest(bytes, _evictable, _victims);
        _evictable.Clear();
        return TakeVictims();
    }

    /// <summary>
    /// An eviction of <paramref name="victim"/> ended (<paramref name="evicted"/>: it unloaded a generation). The clock
    /// rises to its value; a generation charged meanwhile (a miss right after the eviction) keeps it resident.
    /// </summary>
    public void EndEviction(BudgetMember victim, bool evicted)
    {
        victim.Evicting = false;
        if (!evicted)
        {
            return;
        }

        bool overdraft = victim.Entry.Overdraft;
        _policy.RecordEviction(victim.Entry);
        if (victim.Joined && victim.HoldsBytes)
        {
            victim.Entry.Resident = true;
            victim.Entry.Overdraft = overdraft;
        }
    }

    private void CollectEvictable(BudgetMember? candidate, bool includeLastResort)
    {
        _evictable.Clear();
        _lastResort.Clear();
        foreach (BudgetMember member in _members)
        {
            if (!member.Joined || !member.HoldsBytes || member.Evicting || ReferenceEquals(member, candidate))
            {
                continue;
            }

            EvictionStanding standing = member.Standing;
            if (standing == EvictionStanding.Evictable || (includeLastResort && standing == EvictionStanding.LastResort))
            {
                _policy.RecordUses(member.Entry, member.TakeUses(), _members.Count);
                (standing == EvictionStanding.Evictable ? _evictable : _lastResort).Add(member.Entry);
            }
        }
    }

    private List<BudgetMember>? TakeVictims()
    {
        if (_victims.Count == 0)
        {
            return null;
        }

        var evict = new List<BudgetMember>(_victims.Count);
        foreach (EvictionEntry victim in _victims)
        {
            // The entries collected are members (CollectEvictable): each member is its name's entry.
            var member = (BudgetMember)victim;
            member.Evicting = true;
            evict.Add(member);
        }

        _victims.Clear();
        return evict;
    }

    // Members are equal when their names are (ordinal), as the map's keys were.
    private sealed class MemberNames : IEqualityComparer<BudgetMember>
    {
        public static readonly MemberNames Instance = new();

        public bool Equals(BudgetMember? x, BudgetMember? y) => string.Equals(x?.Name, y?.Name, StringComparison.Ordinal);

        public int GetHashCode(BudgetMember obj) => StringComparer.Ordinal.GetHashCode(obj.Name);
    }
}
