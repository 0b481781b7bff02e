using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary>
/// <see cref="MemoryBudget.Fit"/> grows the reservation of a model that is already built: it must not queue behind a
/// newcomer that waits for the very memory the built model's load holds (issue 17, item 2: nothing jams the budget).
/// </summary>
public sealed class MemoryBudgetFitTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AFitOfABuiltModel_GoesAheadOfANewcomerWaitingForItsMemory()
    {
        var budget = new MemoryBudget("tenants", limit: 100);
        BudgetMember built = budget.Join(new Member("built"));
        BudgetMember newcomer = budget.Join(new Member("newcomer"));

        // The built model's load reserved its estimate (50); the newcomer needs 60 and waits, since nothing is evictable.
        MemoryBudget.Reservation reservation = budget.Reserve(built, 50, CancellationToken.None, progress: null);
        using var newcomerGivesUp = new CancellationTokenSource(Bound);
        Task<MemoryBudget.Reservation> waiting = Task.Run(() => budget.Reserve(newcomer, 60, newcomerGivesUp.Token, progress: null));
        await Eventually.TrueAsync(() => budget.Snapshot().Waiting == 1, "the newcomer waits for memory");

        // The model measured 90: 90 of 100 fit once the estimate grows; the newcomer can only go after the model serves.
        using var fitGivesUp = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Exception? failure = Record.Exception(() => budget.Fit(built, reservation, 90, fitGivesUp.Token, progress: null));

        Assert.Null(failure);
        Assert.Equal(90, reservation.Bytes);
        Assert.Equal(90, budget.Snapshot().Reserved);
        Assert.False(waiting.IsCompleted);

        await newcomerGivesUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));
        budget.Cancel(reservation);
        Assert.Equal(0, budget.Snapshot().Reserved);
    }

    [Fact]
    public void AFitOfAnAbandonedLoad_EvictsNoServingModel()
    {
        var budget = new MemoryBudget("tenants", limit: 100);
        var serving = new Serving("serving", budget);
        BudgetMember built = budget.Join(new Member("built"));
        serving.Load(100);

        // The load was abandoned at its timeout (its token cancelled) while its model was being measured: the late
        // model is disposed, never served, so nothing may be evicted to make room for it.
        MemoryBudget.Reservation reservation = budget.Reserve(built, 0, CancellationToken.None, progress: null);
        using var abandoned = new CancellationTokenSource();
        abandoned.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => budget.Fit(built, reservation, 50, abandoned.Token, progress: null));
        Assert.Equal(0, serving.Evictions);
        Assert.Equal(100, budget.Snapshot().Resident);
        Assert.Equal(0, budget.Snapshot().Reserved);
    }

    /// <summary>A cache that serves one generation, which an eviction releases at once.</summary>
    private sealed class Serving : IBudgetedCache
    {
        private readonly MemoryBudget _budget;
        private readonly BudgetMember _member;
        private HeldCharge? _charge;

        public Serving(string name, MemoryBudget budget)
        {
            Name = name;
            _budget = budget;
            _member = budget.Join(this);
        }

        public string Name { get; }

        public int Evictions { get; private set; }

        public void Load(long bytes)
        {
            MemoryBudget.Reservation reservation = _budget.Reserve(_member, bytes, CancellationToken.None, progress: null);
            Volatile.Write(ref _charge, _budget.ChargeHeld(_member, reservation, bytes, loadSeconds: 0.01));
            _member.Publish(EvictionStanding.Evictable);
        }

        public bool Evict()
        {
            HeldCharge? charge = Interlocked.Exchange(ref _charge, null);
            if (charge is null)
            {
                return false;
            }

            Evictions++;
            _member.Publish(EvictionStanding.Kept);
            charge.OnDisposed();
            return true;
        }
    }

    /// <summary>A cache that loads and serves nothing the budget could evict.</summary>
    private sealed class Member(string name) : IBudgetedCache
    {
        public string Name => name;

        public bool Evict() => false;
    }
}
