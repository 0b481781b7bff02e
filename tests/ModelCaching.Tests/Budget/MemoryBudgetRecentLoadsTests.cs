using Microsoft.Extensions.Time.Testing;
using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary>
/// The background trim of <see cref="MemoryBudget"/> (issue 17 item 6) keeps room for the loads of the last drain delay:
/// at a high miss rate several evicted models drain at once, and the largest model alone is not room enough for the next
/// miss. The window is read from the budget's <see cref="TimeProvider"/>, and the room is capped.
/// </summary>
public sealed class MemoryBudgetRecentLoadsTests
{
    private const long Limit = 1000;
    private const long Size = 100;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DrainDelay = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task AfterABurstOfLoadsWithinTheDrainDelay_TheTrimKeepsThatManyBytesFree_UpToTheCap()
    {
        var time = new FakeTimeProvider();
        var budget = new MemoryBudget("tenants", Limit, time);
        var members = new Members(budget, DrainDelay);
        await members.FillThenEvictOnceAsync(time);

        // The first load after the fill evicted one model (it drains), so the trim runs from now on. The loads of the fill
        // are older than the drain delay: the headroom is the largest model plus the latest load.
        long cap = (long)(Limit * MemoryBudget.HeadroomCap);
        Assert.Equal(Size, budget.RecentLoadBytes);
        Assert.Equal(Limit - Math.Min(2 * Size, cap), budget.Snapshot().Resident);

        // A burst, the clock standing still: each load widens the room kept free by its size, up to the cap.
        for (int burst = 2; burst <= 6; burst++)
        {
            await members.LoadNextAsync();
            Assert.Equal(burst * Size, budget.RecentLoadBytes);
            long kept = Math.Min(Size + (burst * Size), cap);
            Assert.Equal((Limit - kept) / Size * Size, budget.Snapshot().Resident);
        }

        // Past the drain delay the burst is forgotten: the next load counts alone (headroom: two models), and the trim
        // evicts no more.
        long residentBefore = budget.Snapshot().Resident;
        long evictionsBefore = budget.Snapshot().Evictions;
        time.Advance(DrainDelay);
        await members.LoadNextAsync();
        Assert.Equal(Size, budget.RecentLoadBytes);
        Assert.Equal(residentBefore + Size, budget.Snapshot().Resident);
        Assert.Equal(evictionsBefore, budget.Snapshot().Evictions);
    }

    [Fact]
    public async Task WithNoDrainDelay_TheTrimKeepsOnlyTheLargestModelFree()
    {
        var time = new FakeTimeProvider();
        var budget = new MemoryBudget("tenants", Limit, time);
        var members = new Members(budget, TimeSpan.Zero);
        await members.FillThenEvictOnceAsync(time);

        for (int burst = 2; burst <= 6; burst++)
        {
            await members.LoadNextAsync();
            Assert.Equal(0, budget.RecentLoadBytes);
            Assert.Equal(Limit - Size, budget.Snapshot().Resident);
        }
    }

    /// <summary>Models of <see cref="Size"/> bytes loaded one after another, each charged with the given drain delay.</summary>
    private sealed class Members(MemoryBudget budget, TimeSpan drainDelay)
    {
        private readonly List<Member> _all = [];

        // Fills the budget, lets the clock pass the drain delay, then loads one more: its eviction drains (so the budget
        // trims from then on) until the test releases it.
        public async Task FillThenEvictOnceAsync(FakeTimeProvider time)
        {
            for (int i = 0; i < Limit / Size; i++)
            {
                New().Load();
            }

            time.Advance(DrainDelay * 2);
            Member next = New();
            Task load = Task.Run(next.Load);
            await Eventually.TrueAsync(() => budget.Snapshot() is { Draining: Size, Waiting: 1 }, "the load waits for its victim to drain");
            ReleaseDrained();
            await load.WaitAsync(Bound);
            await SettleAsync();
        }

        // Loads a new model (there is room: the trim made it) and waits for the trim; what it evicted is then released.
        public async Task LoadNextAsync()
        {
            Member next = New();
            await Task.Run(next.Load).WaitAsync(Bound);
            await SettleAsync();
        }

        private async Task SettleAsync()
        {
            await Eventually.TrueAsync(() => !budget.Trimming, "the trim ends");
            ReleaseDrained();
        }

        private void ReleaseDrained()
        {
            foreach (Member member in _all)
            {
                member.ReleaseDrained();
            }
        }

        private Member New()
        {
            var member = new Member("m" + _all.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), budget, drainDelay);
            _all.Add(member);
            return member;
        }
    }

    /// <summary>A cache as the budget sees it: loads reserve then charge; an eviction retires the generation, whose bytes drain until released.</summary>
    private sealed class Member(string name, MemoryBudget budget, TimeSpan drainDelay) : IBudgetedCache
    {
        private HeldCharge? _serving;
        private HeldCharge? _draining;
        private BudgetMember? _member;

        public string Name => name;

        public void Load()
        {
            _member = budget.Join(this);
            MemoryBudget.Reservation reservation = budget.Reserve(_member, Size, CancellationToken.None, progress: null);
            Volatile.Write(ref _serving, budget.ChargeHeld(_member, reservation, Size, loadSeconds: 0.01, drainDelay: drainDelay));
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

            _member!.Publish(EvictionStanding.Kept);
            charge.OnRetired();
            Volatile.Write(ref _draining, charge);
            return true;
        }

        public void ReleaseDrained() => Interlocked.Exchange(ref _draining, null)?.OnDisposed();
    }
}
