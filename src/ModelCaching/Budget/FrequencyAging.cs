namespace ModelCaching.Budget;

/// <summary>
/// The aging of the uses <see cref="CostAwareEviction"/> counts (TinyLFU's reset): every frequency is halved once per
/// period of uses, lazily. An entry is brought up to date (its frequency, and its value by what its frequency lost) only
/// when it is next read, so aging never walks every entry.
/// </summary>
/// <remarks>
/// The period (<see cref="CostAwareEviction.AgingSamplesPerEntry"/> uses per known model, at least
/// <see cref="CostAwareEviction.MinimumAgingPeriod"/>) is what the eviction simulation (docs/eviction.md) chose between
/// a stationary workload, which wants long memory, and shifting popularity, which wants short memory.
/// Single-threaded by contract, as its policy.
/// </remarks>
internal sealed class FrequencyAging
{
    private int _epoch;
    private double _usesThisEpoch;

    /// <summary>The aging periods that have passed.</summary>
    public int Epoch => _epoch;

    /// <summary>Counts <paramref name="uses"/> toward the current period of <paramref name="period"/> uses.</summary>
    public void Count(double uses, double period)
    {
        _usesThisEpoch += uses;
        if (_usesThisEpoch >= period)
        {
            // Uses counted in a batch may span several periods.
            double periods = Math.Floor(_usesThisEpoch / period);
            _epoch += (int)Math.Min(periods, int.MaxValue - _epoch);
            _usesThisEpoch -= periods * period;
        }
    }

    /// <summary>
    /// Brings an entry's frequency (and its value) up to the current period: halved once per period passed since it was
    /// last brought up to date. The value keeps the clock it was given at its last use and loses what the frequency lost.
    /// </summary>
    public void Age(EvictionEntry entry, double minimumCost)
    {
        int periods = _epoch - entry.Epoch;
        if (periods > 0)
        {
            double aged = periods >= 64 ? 0 : entry.Frequency / Math.Pow(2, periods);
            entry.Priority -= (entry.Frequency - aged) * Math.Max(entry.Cost, minimumCost) / Math.Max(entry.Size, 1);
            entry.Frequency = aged;
            entry.Epoch = _epoch;
        }
    }
}
