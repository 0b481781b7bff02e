using ModelCaching.Diagnostics;
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
/// Bytes in use are resident, draining and reserved (<see cref="BudgetAccount"/>). Their sum never exceeds the limit
/// while an evictable model is resident: a newcomer the policy did not admit still loads (a caller needs it), but in
/// room evicted for it, as the overdraft model that goes first. Degraded models are evicted as a last resort, so a budget
/// full of models whose reloads failed never stops other loads.
/// </para>
/// <para>
/// This class is the front; its parts: each cache takes part through a <see cref="BudgetMember"/> (what it holds, whether
/// it may be evicted), <see cref="EvictionPlanner"/> chooses victims, <see cref="Evictor"/> evicts them (and trims ahead
/// of need, see <see cref="Headroom"/>), <see cref="Reserver"/> makes room for a load, <see cref="WaitQueue"/> holds the loads waiting for memory, and
/// <see cref="LoadStatistics"/> and <see cref="RecentLoads"/> remember what loads measured.
/// </para>
/// <para>
/// One lock guards the accounting and the policy; it is taken by loads, unloads and disposals, never by hits. Under it
/// the budget reads members' fields and never calls into a cache; evictions run outside it, on the loading thread or
/// the background trim. A wait for memory is woken by a signal, never by polling.
/// </para>
/// </remarks>
internal sealed class MemoryBudget
{
    private readonly Lock _gate = new();
    private readonly BudgetAccount _account;
    private readonly EvictionPlanner _planner = new();
    private readonly WaitQueue _waiters = new();
    private readonly LoadStatistics _loads = new();
    private readonly RecentLoads _recentLoads;
    private readonly Evictor _evictor;
    private readonly Reserver _reserver;

    /// <param name="scope">What the budget covers.</param>
    /// <param name="limit">The cap in bytes.</param>
    /// <param name="timeProvider">The clock of the loads' drain-delay window (read by loads only); <see cref="TimeProvider.System"/> by default.</param>
    public MemoryBudget(string scope, long limit, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Scope = scope;
        Limit = limit;
        _account = new BudgetAccount(limit);
        _recentLoads = new RecentLoads(timeProvider ?? TimeProvider.System);
        _evictor = new Evictor(_gate, _account, _planner, _waiters, _loads, _recentLoads);
        _reserver = new Reserver(scope, _gate, _account, _planner, _waiters, _loads, _evictor);
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
                return _recentLoads.Bytes;
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
                return _loads.TypicalSize;
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
                return _evictor.Trimming;
            }
        }
    }

    public MemorySnapshot Snapshot()
    {
        lock (_gate)
        {
            return _account.Snapshot(_waiters.Count);
        }
    }

    /// <summary>
    /// Adds a cache to the budget (again, for a name whose cache was made anew: the name's history is kept). The cache
    /// publishes its standing and counts its misses in the member it gets; <paramref name="hits"/> is read for its hits.
    /// </summary>
    public BudgetMember Join(IBudgetedCache cache, StackRegionCounter? hits = null)
    {
        lock (_gate)
        {
            return _planner.Join(cache, hits);
        }
    }

    /// <summary>Removes a cache (see <see cref="EvictionPlanner.Leave"/>); a waiting load may have waited for its load to end.</summary>
    public void Leave(BudgetMember member)
    {
        lock (_gate)
        {
            _planner.Leave(member);
            _waiters.SignalFirst();
        }
    }

    /// <summary>
    /// On the load's thread, before it builds the model: reserves <paramref name="estimate"/> bytes, evicting models to
    /// make room and waiting (first come, first served) for memory that evicted models still hold.
    /// </summary>
    /// <param name="member">The loading cache's member.</param>
    /// <param name="estimate">The bytes to reserve.</param>
    /// <param name="cancellationToken">The load's timeout or abandonment.</param>
    /// <param name="progress">Told what the load waits for (outside the budget's lock), for the load's timeout message.</param>
    /// <exception cref="ModelBudgetException">The model alone is larger than the budget.</exception>
    /// <exception cref="OperationCanceledException">The load timed out or was cancelled while it waited.</exception>
    public Reservation Reserve(BudgetMember member, long estimate, CancellationToken cancellationToken, ILoadProgress? progress) =>
        _reserver.Acquire(member, Math.Max(estimate, 0), growing: null, cancellationToken, progress);

    /// <summary>
    /// On the load's thread, once the model is built and measured, before it serves: grows <paramref name="reservation"/>
    /// to <paramref name="measured"/> bytes when the estimate was short, evicting (and waiting) as a reservation does. The
    /// charge then never exceeds the limit.
    /// </summary>
    /// <exception cref="ModelBudgetException">The model measured larger than the whole budget.</exception>
    /// <exception cref="OperationCanceledException">The load timed out or was cancelled while it waited.</exception>
    public void Fit(BudgetMember member, Reservation reservation, long measured, CancellationToken cancellationToken, ILoadProgress? progress)
    {
        if (measured > Limit)
        {
            throw TooLarge(member.Name, measured);
        }

        long missing;
        lock (_gate)
        {
            missing = measured - reservation.Bytes;
        }

        if (missing > 0)
        {
            _reserver.Acquire(member, missing, reservation, cancellationToken, progress);
        }
    }

    /// <summary>The failure of a model that alone needs more than the whole budget.</summary>
    public ModelBudgetException TooLarge(string modelName, long bytes) => TooLarge(modelName, bytes, Limit, Scope);

    internal static ModelBudgetException TooLarge(string modelName, long bytes, long limit, string scope) =>
        new(modelName, $"it needs {bytes:N0} bytes, more than the whole memory budget of {limit:N0} bytes ({scope})");

    /// <summary>A load that reserved memory ended without a model to charge (failed, unchanged, abandoned).</summary>
    public void Cancel(Reservation reservation)
    {
        lock (_gate)
        {
            _account.Cancel(reservation);
            _waiters.SignalFirst();
        }
    }

    /// <summary>
    /// A new generation of <paramref name="member"/>'s cache serves: its reservation (if any) becomes a charge of its real
    /// size, and the policy learns its size and load cost. <paramref name="keptBytes"/>: the part of
    /// <paramref name="bytes"/> that is raw bytes the generation keeps beside its model (not part of
    /// <see cref="TypicalSize"/>). With a <paramref name="drainDelay"/> (how long the model's memory drains once evicted)
    /// its bytes count among the recent loads the trim keeps room for during that delay; the clock is read here, on the
    /// loading thread, never on a hit.
    /// </summary>
    public GenerationCharge Charge(BudgetMember member, Reservation? reservation, long bytes, double loadSeconds, long keptBytes = 0, TimeSpan drainDelay = default)
    {
        bytes = Math.Max(bytes, 0);
        double now = _recentLoads.Now();
        lock (_gate)
        {
            _account.Charge(reservation, bytes, member);
            _planner.RecordCharge(member, bytes, loadSeconds, reservation?.Overdraft ?? false);
            _loads.Record(bytes, keptBytes, loadSeconds);
            _recentLoads.Record(now, bytes, drainDelay);
            _waiters.SignalFirst();
        }

        return new GenerationCharge(bytes);
    }

    /// <summary>
    /// A new generation serves (and its cache published so): it may now be evicted, so a waiting load looks again; and
    /// room for the next miss is made in the background when evictions drain.
    /// </summary>
    public void OnServing()
    {
        lock (_gate)
        {
            _waiters.SignalFirst();
            _evictor.ScheduleTrimLocked();
        }
    }

    /// <summary>A charged generation stopped serving (swapped out, unloaded, evicted): its bytes drain. Once per charge.</summary>
    internal void MoveToDraining(long bytes, BudgetMember? owner)
    {
        lock (_gate)
        {
            _account.MoveToDraining(bytes, owner);
        }
    }

    /// <summary>A charged generation's model was disposed (or dropped): its bytes are free. Once per charge.</summary>
    internal void ReleaseCharge(long bytes, bool draining, BudgetMember? owner)
    {
        lock (_gate)
        {
            _account.Release(bytes, draining, owner);
            _waiters.SignalFirst();
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
}
