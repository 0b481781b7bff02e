using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary>
/// A miss that lands right after an unload or an eviction charges a new generation before the budget hears that the old
/// one left. The new one must stay evictable: a CI run of BudgetChurnAttackTests jammed when the late news cleared its
/// resident mark (used 189 of 200, every load waiting for room that only the hidden model could free).
/// </summary>
public sealed class MemoryBudgetResidencyTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AGenerationChargedDuringItsCachesEviction_CanStillBeEvicted()
    {
        var budget = new MemoryBudget("tenants", limit: 100);
        var tenant = new Tenant("a", budget) { RechargeOnFirstEviction = 40 };
        BudgetMember newcomer = budget.Join(new Quiet("b"));
        tenant.Load(60);

        // b needs 70: evicting a (60) makes room, but a miss on a charges 40 again inside that eviction. Room for b is
        // then made only by evicting a once more.
        using var givesUp = new CancellationTokenSource(Bound);
        MemoryBudget.Reservation reservation = await Task.Run(() => budget.Reserve(newcomer, 70, givesUp.Token, progress: null)).WaitAsync(Bound + Bound);

        Assert.Equal(70, reservation.Bytes);
        Assert.Equal(2, tenant.Evictions);
        Assert.Equal(0, budget.Snapshot().Resident);
    }

    [Fact]
    public async Task AGenerationChargedBeforeTheUnloadOfTheLastIsReported_CanStillBeEvicted()
    {
        var budget = new MemoryBudget("tenants", limit: 100);
        var tenant = new Tenant("a", budget);
        BudgetMember newcomer = budget.Join(new Quiet("b"));
        tenant.Load(60);

        // Invalidate: the old generation's bytes go; a miss loads and charges 40 right after (before, on main, the unload's
        // late news reached the budget and cleared the resident mark; residency is now the bytes held, so there is no news).
        tenant.Release();
        tenant.Load(40);

        using var givesUp = new CancellationTokenSource(Bound);
        MemoryBudget.Reservation reservation = await Task.Run(() => budget.Reserve(newcomer, 70, givesUp.Token, progress: null)).WaitAsync(Bound + Bound);

        Assert.Equal(70, reservation.Bytes);
        Assert.Equal(1, tenant.Evictions);
    }

    /// <summary>A cache serving one generation at a time, released at once when it leaves.</summary>
    private sealed class Tenant : IBudgetedCache
    {
        private readonly MemoryBudget _budget;
        private readonly BudgetMember _member;
        private HeldCharge? _charge;

        public Tenant(string name, MemoryBudget budget)
        {
            Name = name;
            _budget = budget;
            _member = budget.Join(this);
        }

        public string Name { get; }

        public int Evictions { get; private set; }

        /// <summary>Bytes a miss charges while the first eviction runs (0: none).</summary>
        public long RechargeOnFirstEviction { get; init; }

        public void Load(long bytes)
        {
            MemoryBudget.Reservation reservation = _budget.Reserve(_member, bytes, CancellationToken.None, progress: null);
            Volatile.Write(ref _charge, _budget.ChargeHeld(_member, reservation, bytes, loadSeconds: 0.01));
            _member.Publish(EvictionStanding.Evictable);
        }

        public void Release()
        {
            _member.Publish(EvictionStanding.Kept);
            Interlocked.Exchange(ref _charge, null)?.OnDisposed();
        }

        public bool Evict()
        {
            if (Volatile.Read(ref _charge) is null)
            {
                return false;
            }

            Evictions++;
            Release();
            if (Evictions == 1 && RechargeOnFirstEviction > 0)
            {
                Load(RechargeOnFirstEviction);
            }

            return true;
        }
    }

    /// <summary>A cache with nothing to evict.</summary>
    private sealed class Quiet(string name) : IBudgetedCache
    {
        public string Name => name;

        public bool Evict() => false;
    }
}
