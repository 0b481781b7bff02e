using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary>
/// The background trim of <see cref="MemoryBudget"/> (room ahead of need, issue 17 item 6) evicts to the headroom and no
/// further: bytes already draining are on their way out and must not make it evict one model after another.
/// </summary>
public sealed class MemoryBudgetTrimTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TheBackgroundTrim_EvictsToTheHeadroom_NotEveryModelWhileTheFirstVictimDrains()
    {
        // Four models of 100 bytes fill a 400-byte budget; the headroom is then 100 (the largest model, at most a quarter).
        var budget = new MemoryBudget("tenants", limit: 400);
        Member[] members = [.. "abcde".Select(c => new Member(c.ToString(), budget))];
        foreach (Member member in members[..4])
        {
            member.Load();
        }

        // e needs room: one model is evicted for it and drains (nothing releases it in this test), e waits for it.
        Task loadE = Task.Run(() => members[4].Load());
        await Eventually.TrueAsync(() => budget.Snapshot() is { Draining: 100, Waiting: 1 }, "e waits for its victim to drain");
        Member first = Assert.Single(members, static m => m.Evictions == 1);
        first.ReleaseDrained();
        await loadE.WaitAsync(Bound);

        // e serves: evictions drain, so the trim makes 100 bytes of room in the background, one model and no more.
        await Eventually.TrueAsync(() => !budget.Trimming, "the trim ends");

        MemorySnapshot after = budget.Snapshot();
        Assert.Equal(2, after.Evictions);
        Assert.Equal(300, after.Resident);
        Assert.Equal(3, members.Count(static m => m.Resident));
    }

    /// <summary>A cache as the budget sees it: loads reserve then charge; an eviction retires the generation, whose bytes drain until released.</summary>
    private sealed class Member(string name, MemoryBudget budget) : IBudgetedCache
    {
        private HeldCharge? _serving;
        private HeldCharge? _draining;
        private BudgetMember? _member;

        public string Name => name;

        public int Evictions { get; private set; }

        public bool Resident => Volatile.Read(ref _serving) is not null;

        public void Load()
        {
            _member = budget.Join(this);
            MemoryBudget.Reservation reservation = budget.Reserve(_member, 100, CancellationToken.None, progress: null);
            Volatile.Write(ref _serving, budget.ChargeHeld(_member, reservation, 100, loadSeconds: 0.01));
            _member.Publish(EvictionStanding.Evictable);
            budget.OnServing();
        }

        public bool Evict()
        {
            HeldCharge? charge = Interlocked.Exchange(ref _serving, null);
            if (charge is null)
            {
                return false;
            }

            Evictions++;
            _member!.Publish(EvictionStanding.Kept);
            charge.OnRetired();
            _draining = charge;
            return true;
        }

        public void ReleaseDrained() => Interlocked.Exchange(ref _draining, null)?.OnDisposed();
    }
}
