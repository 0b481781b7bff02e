namespace ModelCaching.Budget;

/// <summary>
/// What the eviction policy knows about one model name: kept for as long as the name is known, also after the model was
/// evicted (a "ghost"), so a hot model that comes back is valued by its past and a one-hit wonder by its one hit.
/// </summary>
/// <remarks>
/// Read and written only under the lock of the budget that owns it (the policy is single-threaded by contract). In a
/// budget, each cache's <see cref="BudgetMember"/> is its name's entry (one object a name, not two: issue 18); a cache made
/// anew for a name starts from the history of the one before it (<see cref="TakeHistory"/>). The policy's tests use
/// entries on their own.
/// </remarks>
internal class EvictionEntry(string name)
{
    public string Name { get; } = name;

    /// <summary>Bytes the model holds while resident (its last known size; an estimate before its first load).</summary>
    public long Size { get; set; }

    /// <summary>Seconds its last load took: what evicting it would cost when it is needed again.</summary>
    public double Cost { get; set; }

    /// <summary>
    /// Uses, at most <see cref="CostAwareEviction.MaximumFrequency"/>, halved at every aging period that passed since
    /// <see cref="Epoch"/> (see <see cref="CostAwareEviction"/>).
    /// </summary>
    public double Frequency { get; set; }

    /// <summary>The aging period <see cref="Frequency"/> was last brought up to date in.</summary>
    public int Epoch { get; set; }

    /// <summary>
    /// GreedyDual's H: the clock at the last use plus frequency × cost / size (less what aging took from the frequency
    /// since). The lowest goes first.
    /// </summary>
    public double Priority { get; set; }

    /// <summary>Whether the model is in memory and charged to the budget.</summary>
    public bool Resident { get; set; }

    /// <summary>
    /// A model the policy did not admit, loaded anyway because a caller needs it: in probation, among the first to go
    /// (the lowest valued of them first) when anything needs memory.
    /// </summary>
    public bool Overdraft { get; set; }

    /// <summary>A cache made anew for the name goes on from what the policy knew of it under the cache before.</summary>
    public void TakeHistory(EvictionEntry earlier)
    {
        Size = earlier.Size;
        Cost = earlier.Cost;
        Frequency = earlier.Frequency;
        Epoch = earlier.Epoch;
        Priority = earlier.Priority;
    }
}
