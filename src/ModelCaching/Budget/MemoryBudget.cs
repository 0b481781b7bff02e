using ModelCaching.Loading;

namespace ModelCaching.Budget;

/// <summary>
/// A limit in bytes on the models of a provider (<see cref="ModelCacheOptions.MemoryBudgetBytes"/>) or of one template
/// (<see cref="ModelTemplateOptions.MemoryBudgetBytes"/>). A load reserves its model's estimated size before it builds
/// the model; when that would go over the limit, the budget evicts models chosen by <see cref="CostAwareEviction"/> and,
/// if their memory is still held (leases, the drain delay), waits for it in first-come order, within the load's timeout.
/// </summary>
/// <remarks>
/// <para>
/// Bytes in use are resident (serving generations), draining (swapped out or evicted, not yet disposed: a lease or a
/// pooled engine still holds them) and reserved (loads in progress). Their sum stays within the limit, except for one
/// model: the overdraft model the policy did not admit (loaded because a caller needs it, and the first to go), or a
/// model that turned out larger than its estimate.
/// </para>
/// <para>
/// One lock guards the accounting and the policy; it is taken by loads, unloads and disposals, never by hits. Evictions
/// run outside it, on the loading thread.
/// </para>
/// </remarks>
internal sealed class MemoryBudget
{
    // How often a load waiting for memory looks again even without a signal.
    private static readonly TimeSpan RecheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly Lock _gate = new();
    private readonly CostAwareEviction _policy = new();
    private readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);
    private readonly LinkedList<SemaphoreSlim> _waiters = new();
    private readonly List<EvictionEntry> _evictable = [];
    private readonly List<EvictionEntry> _victims = [];
    private long _resident;
    private long _draining;
    private long _reserved;
    private long _evictions;
    private double _loadSeconds;
    private long _loadedBytes;

    public MemoryBudget(string scope, long limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Scope = scope;
        Limit = limit;
    }

    /// <summary>What the budget covers: <c>provider</c>, or the template's name.</summary>
    public string Scope { get; }

    public long Limit { get; }

    public MemorySnapshot Snapshot()
    {
        lock (_gate)
        {
            return new MemorySnapshot(Limit, _resident, _draining, _reserved, _waiters.Count, _evictions);
        }
    }

    /// <summary>Adds a cache to the budget (again, for a name whose cache was made anew: its history is kept).</summary>
    public void Join(IBudgetedCache cache)
    {
        lock (_gate)
        {
            if (_members.TryGetValue(cache.Name, out Member? member))
            {
                member.Cache = cache;
            }
            else
            {
                _members.Add(cache.Name, new Member(cache, new EvictionEntry(cache.Name)));
            }
        }
    }

    /// <summary>
    /// Removes a cache. A name that never served is forgotten (so names that do not exist cannot grow the budget's
    /// state); one that served keeps its history for when it comes back.
    /// </summary>
    public void Leave(IBudgetedCache cache)
    {
        lock (_gate)
        {
            if (_members.TryGetValue(cache.Name, out Member? member) && ReferenceEquals(member.Cache, cache))
            {
                member.Cache = null;
                member.Entry.Resident = false;
                member.Entry.Overdraft = false;
                if (!member.EverServed)
                {
                    _members.Remove(cache.Name);
                }
            }
        }
    }

    /// <summary>
    /// On the load's thread, before it builds the model: reserves <paramref name="estimate"/> bytes, evicting models to
    /// make room and waiting (first come, first served) for memory that evicted models still hold.
    /// </summary>
    /// <exception cref="ModelBudgetException">The model alone is larger than the budget.</exception>
    /// <exception cref="OperationCanceledException">The load timed out or was cancelled while it waited.</exception>
    public Reservation Reserve(IBudgetedCache cache, long estimate, CancellationToken cancellationToken, Action<string> reportWait)
    {
        estimate = Math.Max(estimate, 0);
        if (estimate > Limit)
        {
            throw TooLarge(cache.Name, estimate);
        }

        SemaphoreSlim? signal = null;
        LinkedListNode<SemaphoreSlim>? queued = null;
        bool counted = false;
        try
        {
            while (true)
            {
                List<Member>? evict = null;
                lock (_gate)
                {
                    if (!_members.TryGetValue(cache.Name, out Member? member) || !ReferenceEquals(member.Cache, cache))
                    {
                        throw new OperationCanceledException($"The model cache '{cache.Name}' left its memory budget (it was disposed).");
                    }

                    EvictionEntry entry = member.Entry;
                    if (!counted)
                    {
                        counted = true;
                        _policy.RecordUses(entry, Math.Max(cache.TakeUses(), 1), _members.Count);
                        _policy.RecordLoad(entry, entry.Cost > 0 ? entry.Cost : EstimatedCost(estimate), estimate);
                    }

                    if (queued is null ? _waiters.Count == 0 : ReferenceEquals(_waiters.First, queued))
                    {
                        long used = _resident + _draining + _reserved;
                        if (used + estimate <= Limit)
                        {
                            return Grant(estimate, overdraft: false, ref queued);
                        }

                        evict = Plan(member, used + estimate - Limit, out bool admitted);
                        if (evict is null && !admitted && used <= Limit && !HasOverdraft())
                        {
                            return Grant(estimate, overdraft: true, ref queued);
                        }
                    }

                    if (evict is null && queued is null)
                    {
                        signal = new SemaphoreSlim(0);
                        queued = _waiters.AddLast(signal);
                    }

                    if (evict is null)
                    {
                        reportWait($"waiting for memory: {estimate:N0} bytes wanted, {_resident + _draining + _reserved:N0} of {Limit:N0} in use ({Scope}: {_draining:N0} draining, {_waiters.Count - 1} loads ahead)");
                    }
                }

                if (evict is not null)
                {
                    foreach (Member victim in evict)
                    {
                        bool evicted = victim.Cache?.Evict() ?? false;
                        lock (_gate)
                        {
                            victim.Evicting = false;
                            if (evicted)
                            {
                                _evictions++;
                                _policy.RecordEviction(victim.Entry);
                            }
                        }
                    }

                    continue;
                }

                // Signalled when memory is released or a model starts serving (and so may be evicted); the periodic
                // re-check also covers what no signal reports (a model that stopped loading, or is no longer degraded).
                signal!.Wait(RecheckInterval, cancellationToken);
            }
        }
        finally
        {
            if (queued is not null)
            {
                lock (_gate)
                {
                    _waiters.Remove(queued);
                    SignalFirst();
                }
            }

            signal?.Dispose();
        }
    }

    /// <summary>The failure of a model that alone needs more than the whole budget.</summary>
    public ModelBudgetException TooLarge(string modelName, long bytes) =>
        new(modelName, $"it needs {bytes:N0} bytes, more than the whole memory budget of {Limit:N0} bytes ({Scope})");

    /// <summary>A load that reserved memory ended without a model to charge (failed, unchanged, abandoned).</summary>
    public void Cancel(Reservation reservation)
    {
        lock (_gate)
        {
            _reserved -= reservation.Bytes;
            SignalFirst();
        }
    }

    /// <summary>
    /// A new generation of <paramref name="cache"/> serves: its reservation (if any) becomes a charge of its real size,
    /// and the policy learns its size and load cost.
    /// </summary>
    public GenerationCharge Charge(IBudgetedCache cache, Reservation? reservation, long bytes, double loadSeconds)
    {
        bytes = Math.Max(bytes, 0);
        lock (_gate)
        {
            _reserved -= reservation?.Bytes ?? 0;
            _resident += bytes;
            if (_members.TryGetValue(cache.Name, out Member? member))
            {
                member.EverServed = true;
                member.Entry.Resident = true;
                member.Entry.Overdraft = reservation?.Overdraft ?? false;
                _policy.RecordLoad(member.Entry, loadSeconds, bytes);
            }

            _loadSeconds += loadSeconds;
            _loadedBytes += bytes;
            SignalFirst();
        }

        return new GenerationCharge(this, bytes);
    }

    /// <summary>A new generation of <paramref name="cache"/> serves: it may now be evicted, so a waiting load looks again.</summary>
    public void OnServing(IBudgetedCache cache)
    {
        lock (_gate)
        {
            SignalFirst();
        }
    }

    /// <summary>The cache's serving generation left (unloaded, evicted, disposed): it is no longer resident.</summary>
    public void OnUnloaded(IBudgetedCache cache)
    {
        lock (_gate)
        {
            if (_members.TryGetValue(cache.Name, out Member? member) && ReferenceEquals(member.Cache, cache))
            {
                member.Entry.Resident = false;
                member.Entry.Overdraft = false;
            }
        }
    }

    internal void MoveToDraining(long bytes)
    {
        lock (_gate)
        {
            _resident -= bytes;
            _draining += bytes;
        }
    }

    internal void ReleaseCharge(long bytes, bool draining)
    {
        lock (_gate)
        {
            if (draining)
            {
                _draining -= bytes;
            }
            else
            {
                _resident -= bytes;
            }

            SignalFirst();
        }
    }

    private Reservation Grant(long estimate, bool overdraft, ref LinkedListNode<SemaphoreSlim>? queued)
    {
        _reserved += estimate;
        if (queued is not null)
        {
            _waiters.Remove(queued);
            queued = null;
            SignalFirst();
        }

        return new Reservation(estimate, overdraft);
    }

    // Under the lock: the models to evict for `needed` more bytes (marked Evicting), or null when there is nothing to
    // evict (the caller grants an overdraft or waits).
    private List<Member>? Plan(Member candidate, long needed, out bool admitted)
    {
        _evictable.Clear();
        foreach (Member member in _members.Values)
        {
            if (member.Entry.Resident && !member.Evicting && !ReferenceEquals(member, candidate) && member.Cache is { CanEvict: true } cache)
            {
                _policy.RecordUses(member.Entry, cache.TakeUses(), _members.Count);
                _evictable.Add(member.Entry);
            }
        }

        admitted = _policy.SelectVictims(candidate.Entry, needed, _evictable, _victims);
        _evictable.Clear();
        if (_victims.Count == 0)
        {
            return null;
        }

        var evict = new List<Member>(_victims.Count);
        foreach (EvictionEntry victim in _victims)
        {
            Member member = _members[victim.Name];
            member.Evicting = true;
            evict.Add(member);
        }

        _victims.Clear();
        return evict;
    }

    private bool HasOverdraft()
    {
        foreach (Member member in _members.Values)
        {
            if (member.Entry.Overdraft)
            {
                return true;
            }
        }

        return false;
    }

    // A model never loaded costs what loads in this budget have cost per byte so far (a millisecond per MiB before any).
    private double EstimatedCost(long bytes) =>
        _loadedBytes > 0 ? _loadSeconds / _loadedBytes * bytes : bytes / (1024.0 * 1024.0) * 0.001;

    private void SignalFirst()
    {
        if (_waiters.First is { } first && first.Value.CurrentCount == 0)
        {
            first.Value.Release();
        }
    }

    /// <summary>A reservation made by a load: its bytes, and whether it is the budget's overdraft model.</summary>
    internal sealed record Reservation(long Bytes, bool Overdraft);

    private sealed class Member(IBudgetedCache cache, EvictionEntry entry)
    {
        public IBudgetedCache? Cache { get; set; } = cache;

        public EvictionEntry Entry { get; } = entry;

        public bool Evicting { get; set; }

        public bool EverServed { get; set; }
    }
}
