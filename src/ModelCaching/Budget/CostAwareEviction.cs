namespace ModelCaching.Budget;

/// <summary>
/// Chooses which models leave memory when a load needs room: GreedyDual-Size-Frequency (Cherkasova, 1998) for the
/// order, with a TinyLFU-style admission test (Einziger et al., as in Caffeine's W-TinyLFU) for the newcomer.
/// </summary>
/// <remarks>
/// <para>
/// Each model is worth <c>H = L + F × C / S</c>: F its (aged) uses, C what a load of it costs (seconds), S its bytes,
/// and L a clock that rises to the H of every model evicted, so a model that stops being used is overtaken by the
/// clock and goes, however hot it once was (no LRU list, no timestamps on the hit path). Models differ in size and load
/// time by orders of magnitude: evicting one large cheap model can spare many loads of small expensive ones, which LRU
/// cannot see. The lowest H goes first.
/// </para>
/// <para>
/// Admission, on every load (also when the newcomer fits): the newcomer is compared with the admitted models that room of
/// its size would cost, lowest value first, by the load time each would spare, <c>F × C</c> (its own against their sum,
/// all aged to now). A newcomer that spares less is still loaded (a caller is waiting for it), in probation: as an
/// <see cref="EvictionEntry.Overdraft"/> model. Models in probation go before any admitted model, the lowest valued
/// first and only as many as the room needed, so a stream of one-hit wonders mostly pushes out itself and the budget
/// stays a cap (the probation is no fixed area: it is the room the models not admitted hold). Comparing H instead would
/// let every newcomer in: it is valued at today's clock, the residents at the clock of their last use. Judging only
/// newcomers that do not fit would hand every byte an eviction left free to whichever newcomer came next.
/// </para>
/// <para>
/// Aging: uses are halved once per period of <see cref="AgingSamplesPerEntry"/> uses per known model, lazily
/// (<see cref="FrequencyAging"/>); F is capped at <see cref="MaximumFrequency"/> (TinyLFU's small counters), so a model
/// that was very hot falls back to ordinary within a few periods when its tenants move on.
/// </para>
/// Single-threaded by contract: the budget calls it under its lock. <see cref="SelectVictims"/> costs
/// O(R log R) for R evictable models and allocates nothing when they come in a <see cref="List{T}"/> or an array.
/// </remarks>
internal sealed class CostAwareEviction
{
    /// <summary>Uses per known model after which every frequency is halved.</summary>
    public const int AgingSamplesPerEntry = 5;

    /// <summary>
    /// The fewest uses an aging period has, whatever the number of models: with a handful of models, a period of a few
    /// uses per model would age a hot model's burst away before it is ever compared with a newcomer.
    /// </summary>
    public const int MinimumAgingPeriod = 1_000;

    /// <summary>The most uses a frequency counts: 16 times the mean uses of a model per aging period.</summary>
    public const double MaximumFrequency = 16.0 * AgingSamplesPerEntry;

    // A load never costs less than this in the model's value (a zero-time load would make every model worthless).
    private const double MinimumCost = 1e-6;

    private readonly List<EvictionEntry> _candidates = [];
    private readonly List<EvictionEntry> _probation = [];
    private readonly FrequencyAging _aging = new();
    private double _clock;

    private readonly List<EvictionEntry> _noVictims = [];

    // Settings the eviction simulation compares (benchmarks/ModelCaching.Benchmarks/Eviction/EvictionTuning.cs); the
    // budget uses the defaults.
    internal double AgingSamples { get; set; } = AgingSamplesPerEntry;

    internal double FrequencyCap { get; set; } = MaximumFrequency;

    /// <summary>
    /// Models not admitted stay until their room is needed, the lowest valued going first, instead of all at the next
    /// need (the probation area: one-hit wonders mostly push out each other).
    /// </summary>
    internal bool KeepProbation { get; set; } = true;

    /// <summary>
    /// The newcomer is compared with the admitted models that room of its own size would cost, whatever the probation
    /// frees, instead of with the models evicted for it.
    /// </summary>
    internal bool AdmitAgainstMain { get; set; } = true;

    internal bool PromoteOnHit { get; set; }

    /// <summary>The GreedyDual clock L: the H of the last model evicted.</summary>
    public double Clock => _clock;

    /// <summary>Counts <paramref name="uses"/> of <paramref name="entry"/> and values it again.</summary>
    /// <param name="entry">The model used.</param>
    /// <param name="uses">How many uses (hits and misses) since the last time they were counted.</param>
    /// <param name="knownEntries">How many models the budget knows, for the aging period.</param>
    public void RecordUses(EvictionEntry entry, double uses, int knownEntries)
    {
        if (uses <= 0)
        {
            return;
        }

        Age(entry);
        entry.Frequency = Math.Min(entry.Frequency + uses, FrequencyCap);
        if (PromoteOnHit && entry.Resident)
        {
            entry.Overdraft = false;
        }

        _aging.Count(uses, Math.Max(AgingSamples * Math.Max(knownEntries, 1), MinimumAgingPeriod));
        Revalue(entry);
    }

    /// <summary>Records a load of <paramref name="entry"/>: its cost and size, and values it again.</summary>
    public void RecordLoad(EvictionEntry entry, double costSeconds, long sizeBytes)
    {
        entry.Cost = Math.Max(costSeconds, MinimumCost);
        entry.Size = Math.Max(sizeBytes, 1);
        Revalue(entry);
    }

    /// <summary>Records that <paramref name="entry"/> left memory: the clock rises to its value.</summary>
    public void RecordEviction(EvictionEntry entry)
    {
        Age(entry);
        _clock = Math.Max(_clock, entry.Priority);
        entry.Resident = false;
        entry.Overdraft = false;
    }

    /// <summary>
    /// Picks the models to evict so that <paramref name="bytesNeeded"/> more bytes fit, and says whether the newcomer is
    /// worth them.
    /// </summary>
    /// <param name="candidate">The model about to load (with its estimated size and cost already recorded).</param>
    /// <param name="bytesNeeded">The bytes missing for the candidate to fit (positive).</param>
    /// <param name="evictable">The resident models that may be evicted now (not pinned, not loading, not the candidate).</param>
    /// <param name="victims">Receives the models to evict, the overdraft model first, then the lowest values: enough to
    /// make room whether or not the candidate is admitted (the budget is a cap).</param>
    /// <returns>
    /// <see langword="true"/> when the candidate is admitted in place of <paramref name="victims"/>;
    /// <see langword="false"/> when it is worth less than what it would push out: it still loads in their room, but as
    /// the overdraft model, the first to go. When the evictable models cannot free enough, the result is
    /// <see langword="true"/> with every evictable model in <paramref name="victims"/>: the caller sees the shortfall and
    /// waits for memory.
    /// </returns>
    public bool SelectVictims(EvictionEntry candidate, long bytesNeeded, IEnumerable<EvictionEntry> evictable, List<EvictionEntry> victims)
    {
        CollectAll(evictable, victims);
        long freed = TakeLowest(bytesNeeded, victims, out double displaced);
        Age(candidate);
        bool admitted;
        if (AdmitAgainstMain)
        {
            // Against the admitted models that room of the newcomer's size would cost, whatever the probation frees.
            double main = 0;
            long bytes = 0;
            foreach (EvictionEntry entry in _candidates)
            {
                if (bytes >= candidate.Size)
                {
                    break;
                }

                bytes += entry.Size;
                main += entry.Frequency * entry.Cost;
            }

            admitted = bytes < candidate.Size || candidate.Frequency * candidate.Cost >= main;
        }
        else
        {
            // A newcomer worth less than what it displaces still loads (a caller is waiting for it), in the same room: the
            // budget is a cap. It is marked the overdraft model, the first to go when anything next needs memory.
            admitted = freed < bytesNeeded || candidate.Frequency * candidate.Cost >= displaced;
        }

        _candidates.Clear();
        _probation.Clear();
        return admitted;
    }

    /// <summary>
    /// Says whether a newcomer that fits without evicting anything is admitted, or loads into probation (as an
    /// <see cref="EvictionEntry.Overdraft"/> model, among the first to go): a newcomer is judged on every load, so free
    /// room is not handed to one-hit wonders as admitted models.
    /// </summary>
    /// <param name="candidate">The model about to load (with its estimated size and cost already recorded).</param>
    /// <param name="evictable">The resident models that may be evicted now.</param>
    public bool Admits(EvictionEntry candidate, List<EvictionEntry> evictable)
    {
        bool admitted = SelectVictims(candidate, 0, evictable, _noVictims);
        _noVictims.Clear();
        return admitted;
    }

    /// <summary>
    /// Picks the lowest-valued models (the overdraft model first) until <paramref name="bytesNeeded"/> bytes are freed,
    /// with no newcomer to admit: for making room ahead of need, and for models evicted only as a last resort.
    /// </summary>
    /// <param name="bytesNeeded">The bytes to free.</param>
    /// <param name="evictable">The resident models that may be evicted now.</param>
    /// <param name="victims">Receives the models to evict, lowest value first (all of them when they cannot free enough).</param>
    public void SelectLowest(long bytesNeeded, List<EvictionEntry> evictable, List<EvictionEntry> victims)
    {
        CollectAll(evictable, victims);
        TakeLowest(bytesNeeded, victims, out _);
        _candidates.Clear();
        _probation.Clear();
    }

    // Empties the victims and sorts the evictable models into the probation and the candidates (each by value).
    private void CollectAll(IEnumerable<EvictionEntry> evictable, List<EvictionEntry> victims)
    {
        victims.Clear();
        _candidates.Clear();
        _probation.Clear();
        // Typed loops for the usual collections: foreach over the interface would allocate an enumerator per call.
        if (evictable is List<EvictionEntry> list)
        {
            foreach (EvictionEntry entry in list)
            {
                Collect(entry);
            }
        }
        else if (evictable is EvictionEntry[] array)
        {
            foreach (EvictionEntry entry in array)
            {
                Collect(entry);
            }
        }
        else
        {
            foreach (EvictionEntry entry in evictable)
            {
                Collect(entry);
            }
        }

        _candidates.Sort(static (a, b) => a.Priority.CompareTo(b.Priority));
    }

    // The models not admitted go first (all of them, or with KeepProbation the lowest-valued until the bytes suffice),
    // then the lowest-valued candidates until the bytes suffice; `displaced`: the load time those would spare if kept.
    private long TakeLowest(long bytesNeeded, List<EvictionEntry> victims, out double displaced)
    {
        if (_probation.Count > 1)
        {
            _probation.Sort(static (a, b) => a.Priority.CompareTo(b.Priority));
        }

        long freed = 0;
        foreach (EvictionEntry entry in _probation)
        {
            if (KeepProbation && freed >= bytesNeeded)
            {
                break;
            }

            victims.Add(entry);
            freed += entry.Size;
        }

        displaced = 0;
        foreach (EvictionEntry entry in _candidates)
        {
            if (freed >= bytesNeeded)
            {
                break;
            }

            victims.Add(entry);
            freed += entry.Size;
            displaced += entry.Frequency * entry.Cost;
        }

        return freed;
    }

    /// <summary>
    /// Ages an evictable model to now and sorts it: the overdraft model apart, the others into the candidates. Values
    /// keep the clock of each model's last use, so a model not used since is overtaken by the clock.
    /// </summary>
    private void Collect(EvictionEntry entry)
    {
        Age(entry);
        if (entry.Overdraft)
        {
            _probation.Add(entry);
        }
        else
        {
            _candidates.Add(entry);
        }
    }

    private void Age(EvictionEntry entry) => _aging.Age(entry, MinimumCost);

    private void Revalue(EvictionEntry entry) =>
        entry.Priority = _clock + (entry.Frequency * Math.Max(entry.Cost, MinimumCost) / Math.Max(entry.Size, 1));
}
