using ModelCaching.Budget;
using ModelCaching.Loading;

namespace ModelCaching.Tests.Budget;

/// <summary>
/// Loads waiting in a <see cref="MemoryBudget"/> for memory nothing can evict: served first come, first served, woken
/// when memory is released, and a load that gives up leaves the queue without holding up the loads behind it.
/// </summary>
public sealed class MemoryBudgetWaitTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ALoadThatGivesUp_LeavesTheQueue_AndTheLoadBehindItGetsTheMemory()
    {
        var budget = new MemoryBudget("tenants", limit: 100);
        BudgetMember holder = budget.Join(new Unevictable("holder"));
        MemoryBudget.Reservation held = budget.Reserve(holder, 100, CancellationToken.None, progress: null);

        using var firstGivesUp = new CancellationTokenSource();
        Task<MemoryBudget.Reservation> first = ReserveAsync(budget, "first", 60, firstGivesUp.Token);
        await Eventually.TrueAsync(() => budget.Snapshot().Waiting == 1, "the first load waits");
        Task<MemoryBudget.Reservation> second = ReserveAsync(budget, "second", 60, CancellationToken.None);
        await Eventually.TrueAsync(() => budget.Snapshot().Waiting == 2, "the second load waits behind it");

        await firstGivesUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.WaitAsync(Bound));
        Assert.Equal(1, budget.Snapshot().Waiting);

        budget.Cancel(held);
        MemoryBudget.Reservation granted = await second.WaitAsync(Bound);

        Assert.Equal(60, granted.Bytes);
        Assert.Equal(new MemorySnapshot(100, 0, 0, 60, 0, 0), budget.Snapshot());
    }

    [Fact]
    public async Task ALoadThatWouldFit_DoesNotGoAheadOfTheFirstThatWaits()
    {
        var budget = new MemoryBudget("tenants", limit: 100);
        BudgetMember holder = budget.Join(new Unevictable("holder"));
        MemoryBudget.Reservation part = budget.Reserve(holder, 50, CancellationToken.None, progress: null);
        MemoryBudget.Reservation rest = budget.Reserve(holder, 50, CancellationToken.None, progress: null);

        var firstLooked = new CountingProgress();
        Task<MemoryBudget.Reservation> first = Task.Run(() => budget.Reserve(budget.Join(new Unevictable("first")), 80, CancellationToken.None, firstLooked));
        await Eventually.TrueAsync(() => budget.Snapshot().Waiting == 1, "the first load waits");
        Task<MemoryBudget.Reservation> second = ReserveAsync(budget, "second", 30, CancellationToken.None);
        await Eventually.TrueAsync(() => budget.Snapshot().Waiting == 2, "the second load waits behind it");

        // 50 free: the second would fit, but the first came first. The signal wakes the first, which looks and waits again.
        int looked = firstLooked.Reports;
        budget.Cancel(part);
        await Eventually.TrueAsync(() => firstLooked.Reports > looked, "the first load looks again");
        Assert.StartsWith("waiting for memory: 80 bytes wanted", firstLooked.Step, StringComparison.Ordinal);
        Assert.False(second.IsCompleted);
        Assert.Equal(50, budget.Snapshot().Reserved);

        budget.Cancel(rest);
        Assert.Equal(80, (await first.WaitAsync(Bound)).Bytes);
        Assert.False(second.IsCompleted);

        budget.Cancel(await first);
        Assert.Equal(30, (await second.WaitAsync(Bound)).Bytes);
    }

    [Fact]
    public async Task ALoadWaitingAtTheHead_IsWokenByTheReleaseItWaitsFor()
    {
        var budget = new MemoryBudget("tenants", limit: 100);
        BudgetMember holder = budget.Join(new Unevictable("holder"));
        HeldCharge charge = budget.ChargeHeld(holder, budget.Reserve(holder, 100, CancellationToken.None, progress: null), 100, loadSeconds: 0.01);

        Task<MemoryBudget.Reservation> waiting = ReserveAsync(budget, "waiting", 100, CancellationToken.None);
        await Eventually.TrueAsync(() => budget.Snapshot().Waiting == 1, "the load waits");

        charge.OnRetired();
        Assert.False(waiting.IsCompleted);
        charge.OnDisposed();

        Assert.Equal(100, (await waiting.WaitAsync(Bound)).Bytes);
    }

    private static Task<MemoryBudget.Reservation> ReserveAsync(MemoryBudget budget, string name, long bytes, CancellationToken cancellationToken) =>
        Task.Run(() => budget.Reserve(budget.Join(new Unevictable(name)), bytes, cancellationToken, progress: null));

    private sealed class Unevictable(string name) : IBudgetedCache
    {
        public string Name => name;

        public bool Evict() => false;
    }

    // Counts what the budget tells a waiting load (each time it looks and waits again), and keeps the last message.
    private sealed class CountingProgress : ILoadProgress
    {
        private int _reports;
        private volatile string _step = string.Empty;

        public int Reports => Volatile.Read(ref _reports);

        public string Step
        {
            get => _step;
            set
            {
                _step = value;
                Interlocked.Increment(ref _reports);
            }
        }
    }
}
