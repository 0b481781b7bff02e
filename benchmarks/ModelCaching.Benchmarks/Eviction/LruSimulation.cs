namespace ModelCaching.Benchmarks.Eviction;

/// <summary>Textbook LRU by bytes: a newcomer is always admitted; the least recently used models go until it fits.</summary>
internal sealed class LruSimulation : SimulatedCache
{
    private readonly LinkedList<int> _order = new();
    private readonly LinkedListNode<int>?[] _nodes;
    private long _residentBytes;

    public LruSimulation(EvictionWorkload workload, long budgetBytes)
        : base(workload, budgetBytes) => _nodes = new LinkedListNode<int>?[workload.ModelCount];

    public override long ResidentBytes => _residentBytes;

    public override bool Access(int index)
    {
        int model = Workload.Trace[index];
        LinkedListNode<int>? node = _nodes[model];
        if (node is not null)
        {
            _order.Remove(node);
            _order.AddFirst(node);
            return true;
        }

        long size = Workload.Sizes[model];
        while (_residentBytes + size > BudgetBytes && _order.Last is { } last)
        {
            _order.RemoveLast();
            _nodes[last.Value] = null;
            _residentBytes -= Workload.Sizes[last.Value];
        }

        _nodes[model] = _order.AddFirst(model);
        _residentBytes += size;
        return false;
    }
}
