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
/// cannot see.
/// </para>
/// <para>
/// Admission: a newcomer that would push out a model worth more than itself is still loaded (a caller is waiting for
/// it), but as the budget's one <see cref="EvictionEntry.Overdraft"/> model rather than in place of the hot ones: it
/// goes first at the next need for memory. So a one-hit wonder never pushes out a hot model, and the budget is
/// exceeded by one model at most.
/// </para>
/// <para>
/// Aging: uses are halved once per period of <see cref="AgingSamplesPerEntry"/> uses per known model (TinyLFU's reset),
/// lazily: an entry is brought up to date when it is next read, so aging never walks every entry.
/// </para>
/// Single-threaded by contract: the budget calls it under its lock.
/// </remarks>
internal sealed class CostAwareEviction
{
    /// <summary>Uses per known model after which every frequency is halved.</summary>
    public const int AgingSamplesPerEntry = 10;

    // A load never costs less than this in the model's value (a zero-time load would make every model worthless).
    private const double MinimumCost = 1e-6;

    private readonly List<EvictionEntry> _candidates = [];
    private double _clock;
    private int _epoch;
    private double _usesThisEpoch;

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
        entry.Frequency += uses;
        _usesThisEpoch += uses;
        double period = (double)AgingSamplesPerEntry * Math.Max(knownEntries, 1);
        if (_usesThisEpoch >= period)
        {
            // Uses counted in a batch may span several periods.
            double periods = Math.Floor(_usesThisEpoch / period);
            _epoch += (int)Math.Min(periods, int.MaxValue - _epoch);
            _usesThisEpoch -= periods * period;
        }

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
    /// <param name="victims">Receives the models to evict, lowest value first: enough to make room when the candidate
    /// is admitted, or only the current overdraft model when it is not.</param>
    /// <returns>
    /// <see langword="true"/> when the candidate is admitted in place of <paramref name="victims"/>;
    /// <see langword="false"/> when it is worth less than what it would push out, and should be loaded as the overdraft
    /// model instead (after the victims, at most the previous overdraft model, are evicted). When the evictable models
    /// cannot free enough, the result is <see langword="true"/> with every evictable model in <paramref name="victims"/>:
    /// the caller sees the shortfall and waits for memory.
    /// </returns>
    public bool SelectVictims(EvictionEntry candidate, long bytesNeeded, IEnumerable<EvictionEntry> evictable, List<EvictionEntry> victims)
    {
        victims.Clear();
        _candidates.Clear();
        EvictionEntry? overdraft = null;
        // Values are what they were at each model's last use: a model not used since is overtaken by the clock.
        foreach (EvictionEntry entry in evictable)
        {
            Age(entry);
            if (entry.Overdraft)
            {
                overdraft = entry;
            }
            else
            {
                _candidates.Add(entry);
            }
        }

        _candidates.Sort(static (a, b) => a.Priority.CompareTo(b.Priority));

        // The overdraft model goes first, whatever its value: it was never admitted.
        long freed = 0;
        if (overdraft is not null)
        {
            victims.Add(overdraft);
            freed += overdraft.Size;
        }

        double displaced = 0;
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

        _candidates.Clear();
        Age(candidate);
        if (freed < bytesNeeded || candidate.Frequency * candidate.Cost >= displaced)
        {
            return true;
        }

        // Not worth what it would displace: keep the hot models, and let the newcomer serve as the overdraft model.
        victims.Clear();
        if (overdraft is not null)
        {
            victims.Add(overdraft);
        }

        return false;
    }

    /// <summary>Brings an entry's frequency up to the current aging period.</summary>
    private void Age(EvictionEntry entry)
    {
        int periods = _epoch - entry.Epoch;
        if (periods > 0)
        {
            double aged = periods >= 64 ? 0 : entry.Frequency / Math.Pow(2, periods);
            // The value keeps the clock it was given at the last use and loses what the frequency lost.
            entry.Priority -= (entry.Frequency - aged) * Math.Max(entry.Cost, MinimumCost) / Math.Max(entry.Size, 1);
            entry.Frequency = aged;
            entry.Epoch = _epoch;
        }
    }

    private void Revalue(EvictionEntry entry) =>
        entry.Priority = _clock + (entry.Frequency * Math.Max(entry.Cost, MinimumCost) / Math.Max(entry.Size, 1));
}
