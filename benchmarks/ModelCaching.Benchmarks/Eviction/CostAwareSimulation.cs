using ModelCaching.Budget;

namespace ModelCaching.Benchmarks.Eviction;

/// <summary>
/// <see cref="CostAwareEviction"/> driven as <c>MemoryBudget</c> drives it, inside the budget: every access counts one
/// use; a hit does nothing else; a miss records the load (size and cost) and, when the model does not fit, evicts the
/// victims the policy selects (the previous overdraft model first, then the lowest values) until it does, marking the
/// newcomer as the overdraft model when it was not admitted. After each load the background trim evicts, lowest value
/// first, until the headroom (<see cref="MemoryBudget.Headroom"/> with <see cref="KeepRecentLoadsFree"/>) is free again, so that the next miss finds room. As in
/// <c>MemoryBudget.Trim</c>, the trim counts what stays resident (resident + reserved), not what already drains: bytes
/// draining are on their way out, and counting them would evict one model after another while the first drains.
/// </summary>
/// <remarks>
/// With <c>drainSeconds</c> &gt; 0 the simulation also keeps time, to measure what a miss waits for: loads run back to
/// back on <c>loadSlots</c> slots (the worst case for draining memory: the most misses per second), hits take no time, and
/// an evicted model's bytes stay counted (draining) for <c>drainSeconds</c>, as <see cref="ModelOptions.EvictionDrainDelay"/>
/// keeps a disposable model. As <c>MemoryBudget.Acquire</c> does, a miss evicts for the room it needs counting every
/// draining byte as used, then waits for its own victims' draining bytes (the earliest to drain come free first) rather
/// than evicting more models for the same room. Its wait and its build run on its load slot; the background trim runs
/// after the load, so the trim's victims start draining when the load ends.
/// </remarks>
internal sealed class CostAwareSimulation : SimulatedCache
{
    private readonly CostAwareEviction _policy = new();
    private readonly EvictionEntry?[] _entries;
    private readonly List<EvictionEntry> _resident = [];
    private readonly List<EvictionEntry> _victims = [];
    // Draining bytes by the time they come free (evictions at a load's start and the trim's at its end interleave).
    private readonly PriorityQueue<long, double> _draining = new();
    private readonly string[] _names;
    private readonly bool _trim;
    private readonly double _drainSeconds;
    private readonly int _loadSlots;
    private long _residentBytes;
    private long _drainingBytes;
    private long _largest;
    private int _known;
    private double _now;

    private readonly double _headroomFraction;
    private readonly bool _admitAlways;

    public CostAwareSimulation(EvictionWorkload workload, long budgetBytes, bool trim = true, double drainSeconds = 0, int loadSlots = 2,
        Action<CostAwareEviction>? configure = null, double headroomFraction = -1, bool admitAlways = true)
        : base(workload, budgetBytes)
    {
        configure?.Invoke(_policy);
        _headroomFraction = headroomFraction;
        _admitAlways = admitAlways;
        _trim = trim;
        _drainSeconds = drainSeconds;
        _loadSlots = loadSlots;
        _entries = new EvictionEntry?[workload.ModelCount];
        _names = new string[workload.ModelCount];
        for (int i = 0; i < _names.Length; i++)
        {
            _names[i] = "tenant-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public bool SpareNewcomer { get; init; }

    /// <summary>
    /// As the library does (<see cref="MemoryBudget.Headroom"/>): the trim keeps free the largest model plus the bytes
    /// loaded within the last drain period (what, in steady state, is draining when the next miss comes), at most
    /// <see cref="HeadroomCap"/> of the budget. It depends only on loads, not on evictions, so it does not cascade.
    /// Turned off, the headroom is the largest model only, at most a quarter of the budget (the library before).
    /// </summary>
    public bool KeepRecentLoadsFree { get; init; } = true;

    /// <summary>The cap on the headroom as a fraction of the budget (<see cref="MemoryBudget.HeadroomCap"/> by default; the harness's --headroom-cap measures others).</summary>
    public double HeadroomCap { get; init; } = MemoryBudget.HeadroomCap;

    /// <summary>
    /// Requests arriving at this rate (request i at i / rate seconds) instead of loads back to back: a miss starts at its
    /// arrival on a free load slot, or when one frees. 0: loads back to back (the most misses per second).
    /// </summary>
    public double RequestsPerSecond { get; init; }

    /// <summary>The simulated clock: the start of the latest load.</summary>
    public double Now => _now;

    private double[]? _slotFree;

    private readonly Queue<(double At, long Bytes)> _recentLoads = new();
    private long _recentLoadBytes;

    public override long ResidentBytes => _residentBytes + _drainingBytes;

    /// <summary>Misses that had to wait for draining memory (counted only after <see cref="StartMeasuring"/>).</summary>
    public long WaitedMisses { get; private set; }

    /// <summary>Seconds misses waited for draining memory in all (after <see cref="StartMeasuring"/>).</summary>
    public double WaitSeconds { get; private set; }

    /// <summary>The most bytes draining at once (after <see cref="StartMeasuring"/>).</summary>
    public long PeakDrainingBytes { get; private set; }

    private bool Measuring { get; set; }

    public void StartMeasuring() => Measuring = true;

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

        int slot = -1;
        if (RequestsPerSecond > 0)
        {
            _slotFree ??= new double[_loadSlots];
            slot = Array.IndexOf(_slotFree, _slotFree.Min());
            _now = Math.Max(index / RequestsPerSecond, _slotFree[slot]);
        }

        ReleaseDrained(_now);
        _policy.RecordLoad(entry, Workload.Costs[model], Workload.Sizes[model]);
        bool admitted = true;
        long needed = _residentBytes + _drainingBytes + entry.Size - BudgetBytes;
        if (needed > 0)
        {
            admitted = _policy.SelectVictims(entry, needed, _resident, _victims);
            Evict(_victims, _now);
        }
        else if (_admitAlways)
        {
            admitted = _policy.Admits(entry, _resident);
        }

        double wait = WaitForRoom(entry.Size);
        entry.Resident = true;
        entry.Overdraft = !admitted;
        _resident.Add(entry);
        _residentBytes += entry.Size;
        _largest = Math.Max(_largest, entry.Size);
        if (Measuring && wait > 0)
        {
            WaitedMisses++;
            WaitSeconds += wait;
        }

        // Background trim, once the load serves: the next miss finds the headroom free once what drains is released.
        // Like MemoryBudget.Trim it counts resident (+ reserved, none here) bytes only; counting draining bytes too made
        // the trim evict model after model while the first drained (peak draining 1.00x the budget at 5%).
        double loadEnd = _now + wait + Workload.Costs[model];
        // As MemoryBudget.Charge: the load counts among the recent loads for the drain delay from its charge (its end).
        if (KeepRecentLoadsFree && _drainSeconds > 0)
        {
            while (_recentLoads.TryPeek(out var load) && load.At <= loadEnd - _drainSeconds)
            {
                _recentLoads.Dequeue();
                _recentLoadBytes -= load.Bytes;
            }

            _recentLoads.Enqueue((loadEnd, entry.Size));
            _recentLoadBytes += entry.Size;
        }

        long headroom = !_trim ? 0
            : _headroomFraction >= 0 ? (long)(BudgetBytes * _headroomFraction)
            : KeepRecentLoadsFree ? MemoryBudget.Headroom(BudgetBytes, _largest, _recentLoadBytes, HeadroomCap)
            : Math.Min(_largest, BudgetBytes / 4);

        long over = _residentBytes - (BudgetBytes - headroom);
        if (over > 0 && _trim)
        {
            // With SpareNewcomer, a newcomer not admitted stays until the next miss (it lives in the headroom).
            bool spare = SpareNewcomer && entry.Overdraft;
            if (spare)
            {
                _resident.Remove(entry);
                over -= entry.Size;
            }

            if (over > 0)
            {
                _policy.SelectLowest(over, _resident, _victims);
                Evict(_victims, loadEnd);
            }

            if (spare)
            {
                _resident.Add(entry);
            }
        }

        if (slot >= 0)
        {
            _slotFree![slot] = loadEnd;
        }
        else
        {
            _now += (wait + Workload.Costs[model]) / _loadSlots;
        }
        return false;
    }

    private void Evict(List<EvictionEntry> victims, double at)
    {
        foreach (EvictionEntry victim in victims)
        {
            _policy.RecordEviction(victim);
            _resident.Remove(victim);
            _residentBytes -= victim.Size;
            if (_drainSeconds > 0)
            {
                _draining.Enqueue(victim.Size, at + _drainSeconds);
                _drainingBytes += victim.Size;
                if (Measuring)
                {
                    PeakDrainingBytes = Math.Max(PeakDrainingBytes, _drainingBytes);
                }
            }
        }
    }

    // Seconds until `size` bytes fit, draining memory released meanwhile (nothing resident is left to evict).
    private double WaitForRoom(long size)
    {
        double until = _now;
        while (_residentBytes + _drainingBytes + size > BudgetBytes && _draining.TryDequeue(out long bytes, out double at))
        {
            until = Math.Max(until, at);
            _drainingBytes -= bytes;
        }

        return until - _now;
    }

    private void ReleaseDrained(double now)
    {
        while (_draining.TryPeek(out long bytes, out double at) && at <= now)
        {
            _draining.Dequeue();
            _drainingBytes -= bytes;
        }
    }
}
