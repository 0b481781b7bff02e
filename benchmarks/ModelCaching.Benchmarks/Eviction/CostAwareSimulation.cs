using ModelCaching.Budget;

namespace ModelCaching.Benchmarks.Eviction;

/// <summary>
/// <see cref="CostAwareEviction"/> driven as the memory budget drives it: every access counts one use; a hit does nothing
/// else; a miss records the load (size and cost), and when the model does not fit, evicts the victims the policy selects
/// among the resident models and makes the newcomer resident, as the overdraft model when it was not admitted.
/// </summary>
internal sealed class CostAwareSimulation : SimulatedCache
{
    private readonly CostAwareEviction _policy = new();
    private readonly EvictionEntry?[] _entries;
    private readonly List<EvictionEntry> _resident = [];
    private readonly List<EvictionEntry> _victims = [];
    private readonly string[] _names;
    private long _residentBytes;
    private int _known;

    public CostAwareSimulation(EvictionWorkload workload, long budgetBytes)
        : base(workload, budgetBytes)
    {
        _entries = new EvictionEntry?[workload.ModelCount];
        _names = new string[workload.ModelCount];
        for (int i = 0; i < _names.Length; i++)
        {
            _names[i] = "tenant-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public override long ResidentBytes => _residentBytes;

    public override bool Access(int index)
    {
        int model = Workload.Trace[index];
        EvictionEntry? entry = _entries[model];
        if (entry is null)
        {
            entry = new EvictionEntry(_names[model]);
            _entries[model] = entry;
            _known++;
        }

        _policy.RecordUses(entry, 1, _known);
        if (entry.Resident)
        {
            return true;
        }

        _policy.RecordLoad(entry, Workload.Costs[model], Workload.Sizes[model]);
        bool admitted = true;
        long needed = _residentBytes + entry.Size - BudgetBytes;
        if (needed > 0)
        {
            admitted = _policy.SelectVictims(entry, needed, _resident, _victims);
            foreach (EvictionEntry victim in _victims)
            {
                _policy.RecordEviction(victim);
                _resident.Remove(victim);
                _residentBytes -= victim.Size;
            }
        }

        entry.Resident = true;
        entry.Overdraft = !admitted;
        _resident.Add(entry);
        _residentBytes += entry.Size;
        return false;
    }
}
