using ModelCaching.Diagnostics;

namespace ModelCaching.Budget;

/// <summary>
/// One cache's part in a <see cref="MemoryBudget"/>, made by <see cref="MemoryBudget.Join"/>: what the budget asks when
/// it looks for memory ("what do you hold, may I evict you?"), answered from fields, so the budget never calls into a
/// cache under its lock.
/// </summary>
/// <remarks>
/// <para>
/// The cache pushes: its <see cref="Standing"/> (under its own lock, at every change of its state or serving generation,
/// so the last write is the latest state) and its misses; its hits are read from its hit counter (a counter, not the
/// cache: the hit path writes nothing shared). The budget keeps the rest, under its lock: the bytes the cache's
/// generations hold, resident (<see cref="Held"/>) and draining, and whether an eviction of it is running.
/// </para>
/// <para>
/// The model is resident exactly while <see cref="Held"/> is above zero (<see cref="HoldsBytes"/>): charges and retirements arrive in whatever
/// order a miss and an unload race in, and no late news can hide a charged generation from eviction (issue 17's churn
/// jam). The eviction itself goes through <see cref="Evict"/>, outside the budget's lock.
/// </para>
/// </remarks>
internal sealed class BudgetMember : EvictionEntry
{
    private readonly IBudgetedCache _cache;
    private readonly StackRegionCounter? _hits;

    // An EvictionStanding, written by the cache (Publish) and read by the budget.
    private int _standing;
    private long _misses;

    // Uses (hits + misses) already handed to the policy; under the budget's lock.
    private long _usesCounted;
    private long _held;

    /// <param name="cache">The cache, for <see cref="Evict"/> only.</param>
    /// <param name="hits">The cache's hit counter, if it counts hits.</param>
    internal BudgetMember(IBudgetedCache cache, StackRegionCounter? hits)
        : base(cache.Name)
    {
        _cache = cache;
        _hits = hits;
    }

    /// <summary>What the eviction policy knows of the model's name: the member itself (it goes on from an earlier cache's, <see cref="EvictionEntry.TakeHistory"/>).</summary>
    public EvictionEntry Entry => this;

    /// <summary>Whether the budget may evict the model now, as the cache last published it.</summary>
    public EvictionStanding Standing => (EvictionStanding)Volatile.Read(ref _standing);

    /// <summary>By the cache, under its own lock, whenever its state or serving generation changes.</summary>
    public void Publish(EvictionStanding standing) => Volatile.Write(ref _standing, (int)standing);

    /// <summary>By the cache, on each miss.</summary>
    public void RecordMiss() => Interlocked.Increment(ref _misses);

    /// <summary>The cache is the one its name has in the budget now (not left, not replaced). Under the budget's lock.</summary>
    public bool Joined { get; set; }

    /// <summary>A generation of the name was ever charged: the name's history is kept when it leaves. Under the budget's lock.</summary>
    public bool EverServed { get; set; }

    /// <summary>Chosen as a victim, its eviction not ended yet. Under the budget's lock.</summary>
    public bool Evicting { get; set; }

    /// <summary>Bytes of this cache's retired generations still held (leases, the drain delay). Under the budget's lock.</summary>
    public long Draining { get; set; }

    /// <summary>Bytes charged to this cache's resident generations (its serving one). Under the budget's lock.</summary>
    public long Held => _held;

    /// <summary>Whether the model is in memory and charged: <see cref="Held"/> is above zero.</summary>
    public bool HoldsBytes => _held > 0;

    /// <summary>
    /// Under the budget's lock: a generation was charged (positive) or left resident (negative). The policy's entry follows
    /// (resident while bytes are held; no longer in probation once none are).
    /// </summary>
    public void AddHeld(long bytes)
    {
        _held += bytes;
        if (Joined)
        {
            Entry.Resident = _held > 0;
            if (_held <= 0)
            {
                Entry.Overdraft = false;
            }
        }
    }

    /// <summary>Uses (hits and misses) since the last call. Under the budget's lock.</summary>
    public long TakeUses()
    {
        long total = (_hits?.Sum() ?? 0) + Interlocked.Read(ref _misses);
        long uses = total - _usesCounted;
        _usesCounted = total;
        return uses;
    }

    /// <summary>Asks the cache to unload its model. Outside the budget's lock.</summary>
    public bool Evict() => _cache.Evict();
}
