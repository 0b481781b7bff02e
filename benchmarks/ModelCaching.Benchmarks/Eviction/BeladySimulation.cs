namespace ModelCaching.Benchmarks.Eviction;

/// <summary>
/// Belady with hindsight: on a miss that does not fit, evicts the resident model whose next request is furthest in the
/// future, and bypasses the newcomer (serves it without keeping it) when its own next request is further still. The
/// classic bound for equal sizes and costs; with varying sizes and costs it is a strong heuristic, not the optimum (that
/// problem is NP-hard).
/// </summary>
internal sealed class BeladySimulation : SimulatedCache
{
    // Resident models ordered by their next request; two models share a next request only when neither is requested
    // again (int.MaxValue), and the model number breaks that tie.
    private readonly SortedSet<(int NextUse, int Model)> _byNextUse = [];
    private readonly int[] _nextUseOf;
    private long _residentBytes;

    public BeladySimulation(EvictionWorkload workload, long budgetBytes)
        : base(workload, budgetBytes)
    {
        _nextUseOf = new int[workload.ModelCount];
        Array.Fill(_nextUseOf, -1);
    }

    public override long ResidentBytes => _residentBytes;

    public override bool Access(int index)
    {
        int model = Workload.Trace[index];
        int next = Workload.NextUse[index];
        if (_nextUseOf[model] >= 0)
        {
            _byNextUse.Remove((_nextUseOf[model], model));
            Keep(model, next);
            return true;
        }

        long size = Workload.Sizes[model];
        while (_residentBytes + size > BudgetBytes)
        {
            if (_byNextUse.Count == 0 || _byNextUse.Max.NextUse <= next)
            {
                return false;
            }

            (int NextUse, int Model) furthest = _byNextUse.Max;
            _byNextUse.Remove(furthest);
            _nextUseOf[furthest.Model] = -1;
            _residentBytes -= Workload.Sizes[furthest.Model];
        }

        _residentBytes += size;
        Keep(model, next);
        return false;
    }

    private void Keep(int model, int next)
    {
        _nextUseOf[model] = next;
        _byNextUse.Add((next, model));
    }
}
