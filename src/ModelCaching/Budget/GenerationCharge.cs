namespace ModelCaching.Budget;

/// <summary>
/// The bytes one generation holds against a <see cref="MemoryBudget"/>: resident while it serves, draining once it
/// was swapped out or unloaded (leases and the drain delay may still keep it), released when it is disposed.
/// </summary>
internal sealed class GenerationCharge(MemoryBudget budget, long bytes, BudgetMember? owner = null)
{
    private const int Resident = 0;
    private const int Draining = 1;
    private const int Released = 2;

    private int _state;

    public long Bytes => bytes;

    /// <summary>The generation stopped serving (swapped out, unloaded, evicted); idempotent.</summary>
    public void OnRetired()
    {
        if (Interlocked.CompareExchange(ref _state, Draining, Resident) == Resident)
        {
            budget.MoveToDraining(bytes, owner);
        }
    }

    /// <summary>The generation's model was disposed (or dropped): its bytes are free; idempotent.</summary>
    public void OnDisposed()
    {
        int previous = Interlocked.Exchange(ref _state, Released);
        if (previous != Released)
        {
            budget.ReleaseCharge(bytes, draining: previous == Draining, owner);
        }
    }
}
