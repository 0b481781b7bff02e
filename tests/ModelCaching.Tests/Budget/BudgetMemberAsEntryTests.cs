using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary>
/// A <see cref="BudgetMember"/> is its name's <see cref="EvictionEntry"/> (one object a name, issue 18): a cache made
/// anew for a name goes on from the earlier cache's history, and what the earlier member still does (its bytes drain, its
/// eviction ends) moves nothing of the later one; the victims chosen are the members that are evictable now.
/// </summary>
public sealed class BudgetMemberAsEntryTests
{
    [Fact]
    public void The_earlier_member_of_a_name_moves_nothing_of_the_later_one_and_only_the_later_one_is_chosen()
    {
        var planner = new EvictionPlanner();
        var account = new BudgetAccount(limit: 1_000);
        BudgetMember earlier = planner.Join(new Cache("m"), hits: null);
        account.Charge(reservation: null, 40, earlier);
        planner.RecordCharge(earlier, 40, loadSeconds: 2, overdraft: false);
        earlier.Publish(EvictionStanding.Evictable);
        bool admitted = true;
        Assert.Equal([earlier], planner.Plan(planner.Join(new Cache("other"), hits: null), 40, decideAdmission: false, ref admitted));

        // The cache is made anew for the name while the earlier one's eviction runs and its bytes are still held.
        BudgetMember later = planner.Join(new Cache("m"), hits: null);
        Assert.Equal((40L, earlier.Cost, earlier.Priority), (later.Size, later.Cost, later.Priority));
        Assert.False(later.Entry.Resident);

        planner.EndEviction(earlier, evicted: true);
        account.MoveToDraining(40, earlier);
        account.Release(40, draining: true, earlier);
        Assert.False(later.Entry.Resident);
        Assert.False(later.Evicting);

        account.Charge(reservation: null, 30, later);
        planner.RecordCharge(later, 30, loadSeconds: 1, overdraft: false);
        later.Publish(EvictionStanding.Evictable);
        Assert.True(later.Entry.Resident);
        Assert.False(earlier.HoldsBytes);

        List<BudgetMember>? victims = planner.Plan(planner.Join(new Cache("third"), hits: null), 30, decideAdmission: false, ref admitted);

        Assert.Same(later, Assert.Single(victims!));
        Assert.True(later.Evicting);
        Assert.False(earlier.Evicting);
    }

    private sealed class Cache(string name) : IBudgetedCache
    {
        public string Name => name;

        public bool Evict() => false;
    }
}
