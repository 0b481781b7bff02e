using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary>
/// <see cref="Evictor"/>: victims are evicted through their member with no lock held, and only the evictions that
/// unloaded something count.
/// </summary>
public sealed class EvictorTests
{
    private readonly Lock _gate = new();
    private readonly BudgetAccount _account = new(limit: 100);
    private readonly EvictionPlanner _planner = new();
    private readonly WaitQueue _waiters = new();
    private readonly LoadStatistics _loads = new();
    private readonly Evictor _evictor;

    public EvictorTests() =>
        _evictor = new Evictor(_gate, _account, _planner, _waiters, _loads, new RecentLoads(TimeProvider.System));

    [Fact]
    public void EachVictim_IsEvictedOutsideTheLock_AndOnlyTheOnesThatUnloadedCount()
    {
        var willGo = new Cache("goes", _gate, unloads: true);
        var changedMeanwhile = new Cache("stays", _gate, unloads: false);
        BudgetMember goes = Serving(willGo, 40);
        BudgetMember stays = Serving(changedMeanwhile, 40);
        bool admitted = true;
        List<BudgetMember> victims;
        lock (_gate)
        {
            victims = _planner.Plan(_planner.Join(new Cache("newcomer", _gate, unloads: false), hits: null), 80, decideAdmission: false, ref admitted)!;
        }

        var evicted = new List<BudgetMember>();
        int count = _evictor.EvictAll(victims, evicted);

        Assert.Equal(1, count);
        Assert.Equal([goes], evicted);
        Assert.Equal(1, _account.Evictions);
        Assert.False(goes.Evicting);
        Assert.False(stays.Evicting);
        Assert.Equal(1, willGo.Calls);
        Assert.Equal(1, changedMeanwhile.Calls);
        Assert.False(willGo.CalledUnderTheLock || changedMeanwhile.CalledUnderTheLock);
    }

    [Fact]
    public void AnEvictionEnding_WakesTheFirstWaitingLoad()
    {
        BudgetMember goes = Serving(new Cache("goes", _gate, unloads: true), 40);
        using WaitQueue.Waiter waiter = _waiters.Enqueue();
        goes.Evicting = true;

        _evictor.EvictAll([goes]);

        Assert.True(waiter.Signalled);
    }

    [Fact]
    public void NoTrim_IsScheduled_BeforeAnEvictionLeftBytesDraining()
    {
        Serving(new Cache("a", _gate, unloads: true), 100);

        lock (_gate)
        {
            _evictor.ScheduleTrimLocked();
            Assert.False(_evictor.Trimming);
        }
    }

    [Fact]
    public async Task OnceAnEvictionLeftBytesDraining_ALoadThatLeavesLessThanTheHeadroomFree_StartsTheTrim()
    {
        // 50 + 50 of 100: the headroom is the largest model, 50 (a third of the limit caps it at 33).
        BudgetMember first = Serving(new Cache("a", _gate, unloads: true), 50);
        Serving(new Cache("b", _gate, unloads: true), 50);
        first.Evicting = true;
        _evictor.EvictAll([first]);

        Serving(new Cache("c", _gate, unloads: true), 50);
        lock (_gate)
        {
            _evictor.ScheduleTrimLocked();
            Assert.True(_evictor.Trimming);
        }

        await Eventually.TrueAsync(() => { lock (_gate) { return !_evictor.Trimming; } }, "the trim ends");
        lock (_gate)
        {
            // One model of 50 trimmed: 50 resident, 33 of room kept free (100 draining until their leases end).
            Assert.Equal((50L, 100L, 2L), (_account.Resident, _account.Draining, _account.Evictions));
        }
    }

    private BudgetMember Serving(Cache cache, long bytes)
    {
        lock (_gate)
        {
            BudgetMember member = _planner.Join(cache, hits: null);
            cache.Member = member;
            cache.Account = _account;
            _account.Charge(reservation: null, bytes, member);
            _planner.RecordCharge(member, bytes, loadSeconds: 1, overdraft: false);
            _loads.Record(bytes, keptBytes: 0, loadSeconds: 1);
            member.Publish(EvictionStanding.Evictable);
            return member;
        }
    }

    /// <summary>A cache whose eviction retires its bytes (or finds its state changed), noting whether the budget's lock was held.</summary>
    private sealed class Cache(string name, Lock gate, bool unloads) : IBudgetedCache
    {
        public string Name => name;

        public BudgetMember? Member { get; set; }

        public BudgetAccount? Account { get; set; }

        public int Calls { get; private set; }

        public bool CalledUnderTheLock { get; private set; }

        public bool Evict()
        {
            Calls++;
            CalledUnderTheLock |= gate.IsHeldByCurrentThread;
            if (unloads)
            {
                lock (gate)
                {
                    Account!.MoveToDraining(Member!.Held, Member);
                }
            }

            return unloads;
        }
    }
}
