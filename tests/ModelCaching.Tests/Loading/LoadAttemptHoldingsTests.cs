using ModelCaching.Budget;
using ModelCaching.Loading;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// <see cref="LoadAttemptHoldings"/> on its own: what an attempt holds for its thread is given back exactly once,
/// by its abandonment or by its thread's end, whichever comes first.
/// </summary>
public sealed class LoadAttemptHoldingsTests
{
    private readonly MemoryBudget _budget = new("test", 100);
    private readonly AbandonedLoadThreads _abandonedThreads = new(limit: 1);
    private readonly ModelLoadLimiter _limiter;

    public LoadAttemptHoldingsTests()
    {
        _limiter = new ModelLoadLimiter(1, queueTimeout: null, _abandonedThreads);
        _limiter.Enter(new DelegateSlotWaiter(static () => true));
    }

    [Fact]
    public void The_finishing_load_takes_the_reservation_once()
    {
        var holdings = new LoadAttemptHoldings(_limiter);
        var reservation = new MemoryBudget.Reservation(0, overdraft: false);

        Assert.True(holdings.TryHold(_budget, reservation));

        Assert.Same(reservation, holdings.TakeReservation());
        Assert.Null(holdings.TakeReservation());
    }

    [Fact]
    public void Giving_back_cancels_the_reservation_held_and_refuses_any_later_one()
    {
        var holdings = new LoadAttemptHoldings(_limiter);
        var reservation = new MemoryBudget.Reservation(0, overdraft: false);
        holdings.TryHold(_budget, reservation);

        holdings.GiveBack();

        Assert.Null(holdings.TakeReservation());
        Assert.False(holdings.TryHold(_budget, new MemoryBudget.Reservation(0, overdraft: false)));
        Assert.Null(holdings.TakeReservation());
    }

    [Fact]
    public void Giving_back_while_the_thread_runs_releases_the_slot_and_counts_the_thread_until_it_ends()
    {
        var holdings = new LoadAttemptHoldings(_limiter);
        holdings.SetHoldsSlot(true);

        holdings.GiveBack();

        Assert.Equal(0, _limiter.Running);
        Assert.Equal(1, _abandonedThreads.Count);

        holdings.OnThreadEnded();

        Assert.Equal(0, _limiter.Running);
        Assert.Equal(0, _abandonedThreads.Count);
    }

    [Fact]
    public void Giving_back_at_the_cap_of_abandoned_threads_keeps_the_slot_until_the_thread_ends()
    {
        Assert.True(_abandonedThreads.TryAdd());
        var holdings = new LoadAttemptHoldings(_limiter);
        holdings.SetHoldsSlot(true);

        holdings.GiveBack();

        Assert.Equal(1, _limiter.Running);
        Assert.Equal(1, _abandonedThreads.Count);

        holdings.OnThreadEnded();

        Assert.Equal(0, _limiter.Running);
        Assert.Equal(1, _abandonedThreads.Count);
    }

    [Fact]
    public void Giving_back_after_the_thread_ended_gives_back_nothing_twice()
    {
        var holdings = new LoadAttemptHoldings(_limiter);
        holdings.SetHoldsSlot(true);
        holdings.OnThreadEnded();
        Assert.Equal(0, _limiter.Running);

        holdings.GiveBack();

        Assert.Equal(0, _limiter.Running);
        Assert.Equal(0, _abandonedThreads.Count);
    }
}
