using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary><see cref="BudgetAccount"/>: reserved → resident → draining → released, for the budget and each member.</summary>
public sealed class BudgetAccountTests
{
    [Fact]
    public void AReservation_Grows_ThenBecomesACharge_ThatDrainsAndIsReleased()
    {
        var account = new BudgetAccount(limit: 100);
        BudgetMember member = Member();

        MemoryBudget.Reservation reservation = account.Reserve(30, growing: null, overdraft: true);
        Assert.Same(reservation, account.Reserve(20, reservation, overdraft: false));
        Assert.Equal(50, reservation.Bytes);
        Assert.True(reservation.Overdraft);
        Assert.Equal(50, account.Reserved);

        account.Charge(reservation, 60, member);
        Assert.Equal((0L, 60L, 0L), (account.Reserved, account.Resident, account.Draining));
        Assert.Equal(0, reservation.Bytes);
        Assert.Equal(60, member.Held);

        account.MoveToDraining(60, member);
        Assert.Equal((60L, 0L, 60L), (account.Draining, member.Held, member.Draining));

        account.Release(60, draining: true, member);
        Assert.Equal(0, account.Used);
        Assert.Equal(0, member.Draining);
    }

    [Fact]
    public void AChargeReleasedWhileResident_LeavesNothingBehind()
    {
        var account = new BudgetAccount(limit: 100);
        BudgetMember member = Member();
        account.Charge(reservation: null, 40, member);

        account.Release(40, draining: false, member);

        Assert.Equal(0, account.Used);
        Assert.Equal(0, member.Held);
    }

    [Fact]
    public void ACancelledReservation_GivesBackItsBytes_Once()
    {
        var account = new BudgetAccount(limit: 100);
        MemoryBudget.Reservation reservation = account.Reserve(70, growing: null, overdraft: false);

        account.Cancel(reservation);
        account.Cancel(reservation);

        Assert.Equal(0, account.Reserved);
    }

    [Fact]
    public void Fits_CountsResidentDrainingAndReserved()
    {
        var account = new BudgetAccount(limit: 100);
        account.Reserve(20, growing: null, overdraft: false);
        account.Charge(reservation: null, 30, member: null);
        account.Charge(reservation: null, 30, member: null);
        account.MoveToDraining(30, member: null);

        Assert.True(account.Fits(20));
        Assert.False(account.Fits(21));
        account.CountEviction();
        Assert.Equal(new MemorySnapshot(100, 30, 30, 20, 2, 1), account.Snapshot(waiting: 2));
    }

    private static BudgetMember Member() => new(new NoCache(), hits: null) { Joined = true };

    private sealed class NoCache : IBudgetedCache
    {
        public string Name => "m";

        public bool Evict() => false;
    }
}
