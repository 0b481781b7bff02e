using ModelCaching.Loading;

namespace ModelCaching.Budget;

/// <summary>
/// A cap in bytes on the models of a provider (<see cref="ModelCacheOptions.MemoryBudgetBytes"/>) or of one template
/// (<see cref="ModelTemplateOptions.MemoryBudgetBytes"/>). A load reserves its model's estimated size before it builds
/// the model, and grows the reservation to the measured size before the model serves; when either would go over the
/// limit, the budget evicts models chosen by <see cref="CostAwareEviction"/> and, if their memory is still held (leases,
/// the drain delay), waits for it in first-come order, within the load's timeout. A model measured larger than the
/// whole budget fails.
/// </summary>
/// <remarks>
/// <para>
/// Bytes in use are resident (serving generations), draining (swapped out or evicted, not yet disposed: a lease or a
/// pooled engine still holds them) and reserved (loads in progress). Their sum never exceeds the limit while an
/// evictable model is resident: a newcomer the policy did not admit still loads (a caller needs it), but in room evicted
/// for it, as the overdraft model that goes first. Degraded models are evicted as a last resort, so a budget full of
/// models whose reloads failed never stops other loads.
/// </para>
/// <para>
/// Room ahead of need: once an eviction leaves bytes draining (disposable models with a drain delay, or leases), a miss
/// would wait for them. From then on, after each load the budget evicts in the background (on the thread pool, lowest
/// value first) until <see cref="Headroom"/> bytes are free, so the next miss reserves at once and the evicted bytes
/// drain while nobody waits for them. The headroom is the largest model plus the bytes loaded within the last drain delay
/// (at a high miss rate, what drains is several models), capped at <see cref="HeadroomCap"/> of the limit.
/// </para>
/// <para>
/// One lock guards the accounting and the policy; it is taken by loads, unloads and disposals, never by hits. Evictions
/// run outside it, on the loading thread or the background trim. A wait for memory is woken by a signal (memory
/// released, a model serving or leaving, an eviction ending), never by polling.
/// </para>
/// </remarks>
internal sealed class MemoryBudget
{
    private readonly Lock _gate = new();
    private readonly CostAwareEviction _policy = new();
    private readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);
    private readonly LinkedList<SemaphoreSlim> _waiters = new();
    private readonly List<EvictionEntry> _evictable = [];
    private readonly List<EvictionEntry> _lastResort = [];
    private readonly List<EvictionEntry> _victims = [];
    private readonly List<EvictionEntry> _moreVictims = [];
    private long _resident;
    private long _draining;
    private long _reserved;
    private long _evictions;
    private double _loadSeconds;
    private long _loadedBytes;
    private long _modelBytes;
    private long _loads;
    private long _largest;
    private bool _evictionsDrain;
    private bool _trimScheduled;
    private readonly TimeProvider _timeProvider;

    // The bytes charged within the last drain delay of each load (the loading model's EvictionDrainDelay), by when they
    // leave the window (seconds on _timeProvider's clock): in steady state about what evictions leave draining. A
    // PriorityQueue because models of one budget may have different drain delays; one entry per load within its window.
    private readonly PriorityQueue<long, double> _recentLoads = new();
    private long _recentLoadBytes;

    /// <param name="scope">What the budget covers.</param>
    /// <param name="limit">The cap in bytes.</param>
    /// <param name="timeProvider">The clock of the loads' drain-delay window (read by loads only); <see cref="TimeProvider.System"/> by default.</param>
    public MemoryBudget(string scope, long limit, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Scope = scope;
        Limit = limit;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>What the budget covers: <c>provider</c>, or the template's name.</summary>
    public string Scope { get; }

    public long Limit { get; }

    /// <summary>
    /// The most room the background trim keeps free: a third of the limit. Measured in the eviction simulation against a
    /// quarter and a half (docs/benchmarks.md): a quarter left misses waiting at a 5% budget, a half cost the most load time
    /// for little less waiting.
    /// </summary>
    public const double HeadroomCap = 1.0 / 3;

    /// <summary>
    /// The room kept free ahead of need once evictions drain: the largest model charged so far (room for the next miss)
    /// plus the bytes loaded within the last drain delay (in steady state about what evictions leave draining when the next
    /// miss comes: the larger of the two alone left 14% of misses waiting in the eviction simulation), at most
    /// <see cref="HeadroomCap"/> of the limit (see docs/eviction.md).
    /// </summary>
    public static long Headroom(long limit, long largestModel, long recentLoadBytes = 0, double cap = HeadroomCap) =>
        Math.Min(largestModel + recentLoadBytes, (long)(limit * cap));

    /// <summary>Bytes charged within the last drain delay, as of the latest charge (tests read it).</summary>
    internal long RecentLoadBytes
    {
        get
        {
            lock (_gate)
            {
                return _recentLoadBytes;
            }
        }
    }

    /// <summary>
    /// The mean model size per load so far, without the raw bytes generations keep (0 before any): the estimate for a
    /// model whose size is measured only after it is built (the load adds its own kept bytes to it).
    /// </summary>
    public long TypicalSize
    {
        get
        {
            lock (_gate)
            {
                return _loads > 0 ? _modelBytes / _loads : 0;
            }
        }
    }

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

            // A waiting load may have waited for this cache's load to end.
            SignalFirst();
        }
    }

    /// <summary>
    /// On the load's thread, before it builds the model: reserves <paramref name="estimate"/> bytes, evicting models to
    /// make room and waiting (first come, first served) for memory that evicted models still hold.
    /// </summary>
    /// <exception cref="ModelBudgetException">The model alone is larger than the budget.</exception>
    /// <exception cref="OperationCanceledException">The load timed out or was cancelled while it waited.</exception>
    public Reservation Reserve(IBudgetedCache cache, long estimate, CancellationToken cancellationToken, Action<string> reportWait) =>
        Acquire(cache, Math.Max(estimate, 0), growing: null, cancellationToken, reportWait);

    /// <summary>
    /// On the load's thread, once the model is built and measured, before it serves: grows <paramref name="reservation"/>
    /// to <paramref name="measured"/> bytes when the estimate was short, evicting (and waiting) as a reservation does. The
    /// charge then never exceeds the limit.
    /// </summary>
    /// <exception cref="ModelBudgetException">The model measured larger than the whole budget.</exception>
    /// <exception cref="OperationCanceledException">The load timed out or was cancelled while it waited.</exception>
    public void Fit(IBudgetedCache cache, Reservation reservation, long measured, CancellationToken cancellationToken, Action<string> reportWait)
    {
        if (measured > Limit)
        {
            throw TooLarge(cache.Name, measured);
        }

        long missing;
        lock (_gate)
        {
            missing = measured - reservation.Bytes;
        }

        if (missing > 0)
        {
            Acquire(cache, missing, reservation, cancellationToken, reportWait);
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
            reservation.Bytes = 0;
            SignalFirst();
        }
    }

    /// <summary>
    /// A new generation of <paramref name="cache"/> serves: its reservation (if any) becomes a charge of its real size,
    /// and the policy learns its size and load cost. <paramref name="keptBytes"/>: the part of <paramref name="bytes"/>
    /// that is raw bytes the generation keeps beside its model (not part of <see cref="TypicalSize"/>). With a
    /// <paramref name="drainDelay"/> (how long the model's memory drains once evicted) its bytes count among the recent
    /// loads the trim keeps room for during that delay; the clock is read here, on the loading thread, never on a hit.
    /// </summary>
    public GenerationCharge Charge(IBudgetedCache cache, Reservation? reservation, long bytes, double loadSeconds, long keptBytes = 0, TimeSpan drainDelay = default)
    {
        bytes = Math.Max(bytes, 0);
        double now = Seconds(_timeProvider.GetTimestamp());
        Member? owner;
        lock (_gate)
        {
            _reserved -= reservation?.Bytes ?? 0;
            if (reservation is not null)
            {
                reservation.Bytes = 0;
            }

            _resident += bytes;

            // The same cache object: a late charge of a cache disposed meanwhile must not mark the name's new cache resident.
            if (_members.TryGetValue(cache.Name, out Member? member) && ReferenceEquals(member.Cache, cache))
            {
                owner = member;
                member.Held += bytes;
                member.EverServed = true;
                member.Entry.Resident = true;
                member.Entry.Overdraft = reservation?.Overdraft ?? false;
                _policy.RecordLoad(member.Entry, loadSeconds, bytes);
            }
            else
            {
                owner = null;
            }

            _loadSeconds += loadSeconds;
            _loadedBytes += bytes;
            _modelBytes += Math.Max(bytes - Math.Max(keptBytes, 0), 0);
            _loads++;
            _largest = Math.Max(_largest, bytes);
            RecordRecentLoadLocked(now, bytes, drainDelay);
            SignalFirst();
        }

        return new GenerationCharge(this, bytes, owner);
    }

    /// <summary>
    /// A new generation of <paramref name="cache"/> serves: it may now be evicted, so a waiting load looks again; and
    /// room for the next miss is made in the background when evictions drain.
    /// </summary>
    public void OnServing(IBudgetedCache cache)
    {
        lock (_gate)
        {
            SignalFirst();
            ScheduleTrimLocked();
        }
    }

    /// <summary>The cache's serving generation left (unloaded, evicted, disposed): it is no longer resident.</summary>
    public void OnUnloaded(IBudgetedCache cache)
    {
        lock (_gate)
        {
            // Not when a new generation is charged already: a miss right after the unload may have loaded and charged
            // (marked resident) a new one before this call, swapped in or about to be. Clearing the mark then hid its bytes
            // from eviction for good, leaving loads waiting for room nobody could make. The unloaded generation's bytes
            // left Held before this call (GenerationRetirement.Retire), so what Held still counts is newer.
            if (_members.TryGetValue(cache.Name, out Member? member) && ReferenceEquals(member.Cache, cache) && member.Held == 0)
            {
                member.Entry.Resident = false;
                member.Entry.Overdraft = false;
            }
        }
    }

    /// <summary>Whether a background trim is scheduled or running (tests wait for it to end).</summary>
    internal bool Trimming
    {
        get
        {
            lock (_gate)
            {
                return _trimScheduled;
            }
        }
    }

    internal void MoveToDraining(long bytes, Member? owner)
    {
        lock (_gate)
        {
            _resident -= bytes;
            _draining += bytes;
            if (owner is not null)
            {
                owner.Held -= bytes;
                owner.Draining += bytes;
            }
        }
    }

    internal void ReleaseCharge(long bytes, bool draining, Member? owner)
    {
        lock (_gate)
        {
            if (draining)
            {
                _draining -= bytes;
                if (owner is not null)
                {
                    owner.Draining -= bytes;
                }
            }
            else
            {
                _resident -= bytes;
                if (owner is not null)
                {
                    owner.Held -= bytes;
                }
            }

            SignalFirst();
        }
    }

    // Reserves `bytes` more (a new reservation, or more for `growing`): evicts, then waits for a signal, until they fit.
    private Reservation Acquire(IBudgetedCache cache, long bytes, Reservation? growing, CancellationToken cancellationToken, Action<string> reportWait)
    {
        if (bytes > Limit)
        {
            throw TooLarge(cache.Name, bytes);
        }

        SemaphoreSlim? signal = null;
        LinkedListNode<SemaphoreSlim>? queued = null;

        // The models this load evicted: bytes they still hold draining come free without another eviction, so the load
        // waits for them rather than evicting more models for the same room.
        List<Member>? evicted = null;
        bool counted = growing is not null;
        bool admitted = true;
        bool decided = false;
        try
        {
            while (true)
            {
                // A load abandoned (timed out, disposed) meanwhile evicts nothing for a model that will never serve.
                cancellationToken.ThrowIfCancellationRequested();
                List<Member>? evict = null;
                lock (_gate)
                {
                    if (!_members.TryGetValue(cache.Name, out Member? member) || !ReferenceEquals(member.Cache, cache))
                    {
                        throw new OperationCanceledException($"The model cache '{cache.Name}' left its memory budget (it was disposed).");
                    }

                    // Its own serving generations are never evicted for it: a new version that cannot fit beside them
                    // never will, and waiting at the head of the queue would stop every other load until its timeout.
                    long total = bytes + (growing?.Bytes ?? 0);
                    if (total + member.Held > Limit)
                    {
                        throw new ModelBudgetException(cache.Name, $"its new version needs {total:N0} bytes beside the {member.Held:N0} its serving version holds, more than the memory budget of {Limit:N0} bytes ({Scope}); SwapMode UnloadFirst loads it in place of the serving version");
                    }

                    EvictionEntry entry = member.Entry;
                    if (!counted)
                    {
                        counted = true;
                        _policy.RecordUses(entry, Math.Max(cache.TakeUses(), 1), _members.Count);
                        _policy.RecordLoad(entry, entry.Cost > 0 ? entry.Cost : EstimatedCost(bytes), bytes);
                    }

                    // A growing reservation (a built model) goes ahead of the queue: the loads that wait may be waiting for
                    // the very bytes it holds, which it gives up only once it serves (and can be evicted) or fails.
                    if (queued is null ? _waiters.Count == 0 || growing is not null : ReferenceEquals(_waiters.First, queued))
                    {
                        long used = _resident + _draining + _reserved;
                        if (used + bytes <= Limit)
                        {
                            if (growing is null && !decided)
                            {
                                // Judged also when it fits: free room is not handed to a one-hit wonder as an admitted model.
                                admitted = Admits(member);
                            }

                            return Grant(bytes, growing, overdraft: !admitted, ref queued);
                        }

                        // Growing a reservation is no admission: the model is built, and only its room is missing.
                        long missing = used + bytes - Limit - StillDraining(evicted);
                        if (missing > 0)
                        {
                            decided |= growing is null;
                            evict = Plan(member, missing, decideAdmission: growing is null, ref admitted);
                        }
                    }

                    if (evict is null && queued is null)
                    {
                        signal = new SemaphoreSlim(0);
                        queued = growing is null ? _waiters.AddLast(signal) : _waiters.AddFirst(signal);
                    }

                    if (evict is null)
                    {
                        reportWait($"waiting for memory: {bytes:N0} bytes wanted, {_resident + _draining + _reserved:N0} of {Limit:N0} in use ({Scope}: {_draining:N0} draining, {_waiters.Count - 1} loads ahead)");
                    }
                }

                if (evict is not null)
                {
                    EvictAll(evict, evicted ??= []);
                    continue;
                }

                // Signalled when memory is released or reserved memory returned, a model starts serving (and so may be
                // evicted) or leaves, an eviction ends, or the load ahead is granted or gives up.
                signal!.Wait(cancellationToken);
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

    private Reservation Grant(long bytes, Reservation? growing, bool overdraft, ref LinkedListNode<SemaphoreSlim>? queued)
    {
        _reserved += bytes;
        if (queued is not null)
        {
            _waiters.Remove(queued);
            queued = null;
            SignalFirst();
        }

        if (growing is not null)
        {
            growing.Bytes += bytes;
            return growing;
        }

        return new Reservation(bytes, overdraft);
    }

    // Under the lock: the models to evict for `needed` more bytes (marked Evicting), or null when there is nothing to
    // evict (the caller waits). Degraded models go only when the others cannot free enough.
    private List<Member>? Plan(Member candidate, long needed, bool decideAdmission, ref bool admitted)
    {
        CollectEvictable(candidate, includeLastResort: true);
        if (decideAdmission)
        {
            admitted = _policy.SelectVictims(candidate.Entry, needed, _evictable, _victims);
        }
        else
        {
            _policy.SelectLowest(needed, _evictable, _victims);
        }

        long freed = 0;
        foreach (EvictionEntry victim in _victims)
        {
            freed += victim.Size;
        }

        if (freed < needed && _lastResort.Count > 0)
        {
            _policy.SelectLowest(needed - freed, _lastResort, _moreVictims);
            _victims.AddRange(_moreVictims);
            _moreVictims.Clear();
        }

        _evictable.Clear();
        _lastResort.Clear();
        return TakeVictims();
    }

    private bool Admits(Member candidate)
    {
        CollectEvictable(candidate, includeLastResort: false);
        bool admitted = _policy.Admits(candidate.Entry, _evictable);
        _evictable.Clear();
        return admitted;
    }

    private void CollectEvictable(Member? candidate, bool includeLastResort)
    {
        _evictable.Clear();
        _lastResort.Clear();
        foreach (Member member in _members.Values)
        {
            if (!member.Entry.Resident || member.Evicting || ReferenceEquals(member, candidate) || member.Cache is not { } cache)
            {
                continue;
            }

            EvictionStanding standing = cache.Standing;
            if (standing == EvictionStanding.Evictable || (includeLastResort && standing == EvictionStanding.LastResort))
            {
                _policy.RecordUses(member.Entry, cache.TakeUses(), _members.Count);
                (standing == EvictionStanding.Evictable ? _evictable : _lastResort).Add(member.Entry);
            }
        }
    }

    private List<Member>? TakeVictims()
    {
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

    // Under the lock: the bytes that models evicted by one load still hold draining.
    private static long StillDraining(List<Member>? evicted)
    {
        long bytes = 0;
        if (evicted is not null)
        {
            foreach (Member member in evicted)
            {
                bytes += member.Draining;
            }
        }

        return bytes;
    }

    // Outside the lock: unloads each victim (its bytes then drain or are released), counts what was evicted, and adds
    // the evicted ones to `evicted` when given.
    private int EvictAll(List<Member> victims, List<Member>? evicted = null)
    {
        int count = 0;
        foreach (Member victim in victims)
        {
            bool done = victim.Cache?.Evict() ?? false;
            lock (_gate)
            {
                victim.Evicting = false;
                if (done)
                {
                    count++;
                    if (evicted is not null && !evicted.Contains(victim))
                    {
                        evicted.Add(victim);
                    }
                    _evictions++;

                    // A miss right after the eviction may have charged a new generation already (Charge marks it
                    // resident): it stays resident and keeps its standing, or its bytes could never be evicted again.
                    bool recharged = victim.Held > 0;
                    bool overdraft = victim.Entry.Overdraft;
                    _policy.RecordEviction(victim.Entry);
                    if (recharged)
                    {
                        victim.Entry.Resident = true;
                        victim.Entry.Overdraft = overdraft;
                    }
                }
            }
        }

        lock (_gate)
        {
            // Bytes still held right after an eviction drain (a drain delay, leases): misses would wait for them, so
            // room is made ahead of need from now on.
            if (count > 0 && _draining > 0)
            {
                _evictionsDrain = true;
            }

            SignalFirst();
        }

        return count;
    }

    private void ScheduleTrimLocked()
    {
        if (!_evictionsDrain || _trimScheduled || _resident + _reserved <= Limit - Headroom(Limit, _largest, _recentLoadBytes))
        {
            return;
        }

        _trimScheduled = true;
        ThreadPool.UnsafeQueueUserWorkItem(static budget => budget.Trim(), this, preferLocal: false);
    }

    // In the background: evicts the lowest-valued models until the headroom is free once draining bytes are released, so
    // the next miss need not wait for an eviction to drain. Bytes already draining are on their way out: counting them
    // would evict one model after another while the first drains, down to none. Degraded models are never evicted
    // ahead of need.
    private void Trim()
    {
        try
        {
            while (true)
            {
                List<Member>? evict;
                lock (_gate)
                {
                    long over = _resident + _reserved - (Limit - Headroom(Limit, _largest, _recentLoadBytes));
                    if (over <= 0)
                    {
                        return;
                    }

                    CollectEvictable(candidate: null, includeLastResort: false);
                    _policy.SelectLowest(over, _evictable, _victims);
                    _evictable.Clear();
                    evict = TakeVictims();
                }

                if (evict is null || EvictAll(evict) == 0)
                {
                    return;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _trimScheduled = false;
            }
        }
    }

    // Under the lock: forgets the loads whose drain delay has passed by `now`, then counts this one for its drain delay.
    private void RecordRecentLoadLocked(double now, long bytes, TimeSpan drainDelay)
    {
        while (_recentLoads.TryPeek(out long old, out double until) && until <= now)
        {
            _recentLoads.Dequeue();
            _recentLoadBytes -= old;
        }

        if (drainDelay > TimeSpan.Zero && bytes > 0)
        {
            _recentLoads.Enqueue(bytes, now + drainDelay.TotalSeconds);
            _recentLoadBytes += bytes;
        }
    }

    private double Seconds(long timestamp) => (double)timestamp / _timeProvider.TimestampFrequency;

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

    /// <summary>
    /// A reservation made by a load: the bytes it holds (grown to the measured size before the model serves, zero once
    /// charged or cancelled), and whether the model is the overdraft model (not admitted, the first to go).
    /// </summary>
    internal sealed class Reservation(long bytes, bool overdraft)
    {
        /// <summary>Read and written under the budget's lock.</summary>
        public long Bytes { get; set; } = bytes;

        public bool Overdraft { get; } = overdraft;
    }

    internal sealed class Member(IBudgetedCache cache, EvictionEntry entry)
    {
        public IBudgetedCache? Cache { get; set; } = cache;

        public EvictionEntry Entry { get; } = entry;

        public bool Evicting { get; set; }

        public bool EverServed { get; set; }

        /// <summary>Bytes of this model's retired generations still held (leases, the drain delay). Under the budget's lock.</summary>
        public long Draining { get; set; }

        /// <summary>Bytes charged to this model's resident generations (its serving one). Under the budget's lock.</summary>
        public long Held { get; set; }
    }
}
