namespace ModelCaching.Benchmarks.Eviction;

/// <summary>
/// A hindsight reference for frequency-based policies: keeps, for the whole trace, the fixed set of models with the most
/// load time per byte (requests in the trace × load time / size), filled greedily up to the budget. Under a stationary
/// Zipf trace it is about the best any policy that ranks by frequency, cost and size can do.
/// </summary>
internal sealed class StaticOracleSimulation : SimulatedCache
{
    private readonly bool[] _kept;
    private readonly long _residentBytes;

    public StaticOracleSimulation(EvictionWorkload workload, long budgetBytes)
        : base(workload, budgetBytes)
    {
        long[] requests = new long[workload.ModelCount];
        foreach (int model in workload.Trace)
        {
            requests[model]++;
        }

        int[] order = new int[workload.ModelCount];
        double[] value = new double[workload.ModelCount];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
            value[i] = -requests[i] * workload.Costs[i] / workload.Sizes[i];
        }

        Array.Sort(value, order);
        _kept = new bool[workload.ModelCount];
        foreach (int model in order)
        {
            if (_residentBytes + workload.Sizes[model] <= budgetBytes)
            {
                _kept[model] = true;
                _residentBytes += workload.Sizes[model];
            }
        }
    }

    public override long ResidentBytes => _residentBytes;

    public override bool Access(int index) => _kept[Workload.Trace[index]];
}
