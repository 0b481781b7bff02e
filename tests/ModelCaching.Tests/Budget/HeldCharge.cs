using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary>
/// A charge as the budget tests hold it: the bytes <see cref="MemoryBudget.Charge"/> charged to a member, drained and
/// released once each, in whatever order, as a <see cref="Generations.ModelGeneration{TModel}"/> does with the charge it
/// keeps in its fields.
/// </summary>
internal sealed class HeldCharge(MemoryBudget budget, BudgetMember member, GenerationCharge charge)
{
    private int _state = GenerationCharge.Resident;

    public long Bytes => charge.Bytes;

    /// <summary>The generation stopped serving; idempotent.</summary>
    public void OnRetired()
    {
        if (Interlocked.CompareExchange(ref _state, GenerationCharge.Draining, GenerationCharge.Resident) == GenerationCharge.Resident)
        {
            budget.MoveToDraining(charge.Bytes, member);
        }
    }

    /// <summary>The generation was disposed; idempotent.</summary>
    public void OnDisposed()
    {
        int previous = Interlocked.Exchange(ref _state, GenerationCharge.Released);
        if (previous != GenerationCharge.Released)
        {
            budget.ReleaseCharge(charge.Bytes, draining: previous == GenerationCharge.Draining, member);
        }
    }
}

/// <summary>Charges through <see cref="MemoryBudget.Charge"/> and holds the charge as a generation does (<see cref="HeldCharge"/>).</summary>
internal static class HeldChargeExtensions
{
    public static HeldCharge ChargeHeld(this MemoryBudget budget, BudgetMember member, MemoryBudget.Reservation? reservation, long bytes, double loadSeconds, long keptBytes = 0, TimeSpan drainDelay = default) =>
        new(budget, member, budget.Charge(member, reservation, bytes, loadSeconds, keptBytes, drainDelay));
}
