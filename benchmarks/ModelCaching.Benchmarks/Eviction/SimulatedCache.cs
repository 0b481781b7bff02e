namespace ModelCaching.Benchmarks.Eviction;

/// <summary>One eviction policy under simulation: told of every request in trace order, it says whether it was a hit.</summary>
internal abstract class SimulatedCache(EvictionWorkload workload, long budgetBytes)
{
    protected EvictionWorkload Workload { get; } = workload;

    protected long BudgetBytes { get; } = budgetBytes;

    /// <summary>Bytes resident now (may exceed the budget for a policy with an overdraft model).</summary>
    public abstract long ResidentBytes { get; }

    /// <summary>Serves request <paramref name="index"/> of the trace; <see langword="true"/> when it needed no load.</summary>
    public abstract bool Access(int index);
}
