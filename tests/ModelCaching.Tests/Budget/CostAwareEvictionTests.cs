using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

public sealed class CostAwareEvictionTests
{
    private const long MiB = 1024 * 1024;

    private readonly CostAwareEviction _policy = new();
    private readonly List<EvictionEntry> _victims = [];

    /// <summary>A resident model used <paramref name="uses"/> times, loaded at the given cost and size.</summary>
    private EvictionEntry Resident(string name, int uses, double costSeconds, long sizeBytes, int knownEntries = 1_000)
    {
        var entry = new EvictionEntry(name);
        _policy.RecordUses(entry, uses, knownEntries);
        _policy.RecordLoad(entry, costSeconds, sizeBytes);
        entry.Resident = true;
        return entry;
    }

    /// <summary>A model about to load: its use counted and its load recorded, as the budget does on a miss.</summary>
    private EvictionEntry Newcomer(string name, double costSeconds, long sizeBytes, int knownEntries = 1_000)
    {
        var entry = new EvictionEntry(name);
        _policy.RecordUses(entry, 1, knownEntries);
        _policy.RecordLoad(entry, costSeconds, sizeBytes);
        return entry;
    }

    [Fact]
    public void SelectVictims_EvictsTheLowestValueFirst()
    {
        EvictionEntry high = Resident("high", uses: 9, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry low = Resident("low", uses: 1, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry middle = Resident("middle", uses: 3, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry newcomer = Newcomer("newcomer", costSeconds: 1, sizeBytes: 10 * MiB);
        _policy.RecordUses(newcomer, 4, 1_000);

        bool admitted = _policy.SelectVictims(newcomer, 10 * MiB, [high, low, middle], _victims);

        Assert.True(admitted);
        Assert.Equal([low], _victims);
    }

    [Fact]
    public void SelectVictims_WhenOneVictimIsNotEnough_TakesTheNextLowestUntilTheBytesFit()
    {
        EvictionEntry high = Resident("high", uses: 9, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry low = Resident("low", uses: 1, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry middle = Resident("middle", uses: 3, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry newcomer = Newcomer("newcomer", costSeconds: 1, sizeBytes: 15 * MiB);
        _policy.RecordUses(newcomer, 9, 1_000);

        bool admitted = _policy.SelectVictims(newcomer, 15 * MiB, [high, low, middle], _victims);

        Assert.True(admitted);
        Assert.Equal([low, middle], _victims);
    }

    [Fact]
    public void RecordEviction_RaisesTheClockToTheEvictedValue()
    {
        EvictionEntry entry = Resident("model", uses: 4, costSeconds: 2, sizeBytes: 8);
        Assert.Equal(0, _policy.Clock);
        Assert.Equal(4 * 2 / 8.0, entry.Priority, 12);

        _policy.RecordEviction(entry);

        Assert.Equal(entry.Priority, _policy.Clock, 12);
        Assert.False(entry.Resident);
        Assert.False(entry.Overdraft);
    }

    [Fact]
    public void RecordEviction_OfALowerValue_DoesNotLowerTheClock()
    {
        EvictionEntry stale = Resident("stale", uses: 1, costSeconds: 1, sizeBytes: 8);
        EvictionEntry valuable = Resident("valuable", uses: 8, costSeconds: 1, sizeBytes: 8);
        _policy.RecordEviction(valuable);
        double clock = _policy.Clock;

        _policy.RecordEviction(stale);

        Assert.Equal(clock, _policy.Clock);
    }

    [Fact]
    public void AModelNotUsedSince_IsOvertakenByTheClock_AndGoesBeforeLessFrequentButRecentModels()
    {
        // Used often, long ago: valued at a clock of 0.
        EvictionEntry once = Resident("once-hot", uses: 6, costSeconds: 1, sizeBytes: MiB);
        // Evictions since then raise the clock past its value.
        for (int i = 0; i < 3; i++)
        {
            _policy.RecordEviction(Resident("gone-" + i, uses: 4 + i, costSeconds: 1, sizeBytes: MiB / 2));
        }

        Assert.True(_policy.Clock > once.Priority);
        // Used less, but recently: valued at the risen clock.
        EvictionEntry recent = Resident("recent", uses: 2, costSeconds: 1, sizeBytes: MiB);
        EvictionEntry newcomer = Newcomer("newcomer", costSeconds: 1, sizeBytes: MiB);
        _policy.RecordUses(newcomer, 9, 1_000);

        bool admitted = _policy.SelectVictims(newcomer, MiB, [recent, once], _victims);

        Assert.True(admitted);
        Assert.Equal([once], _victims);
    }

    [Fact]
    public void AOneHitWonder_IsNotAdmittedOverAHotModel_ItTakesTheLowestValuedRoom_AndAsTheOverdraftModelGoesFirst()
    {
        EvictionEntry hot = Resident("hot", uses: 100, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry warm = Resident("warm", uses: 50, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry wonder = Newcomer("one-hit", costSeconds: 1, sizeBytes: 10 * MiB);

        bool admitted = _policy.SelectVictims(wonder, 10 * MiB, [hot, warm], _victims);

        // The budget loads it anyway, within the budget: the lowest-valued model makes room, and the wonder is the
        // overdraft model.
        Assert.False(admitted);
        Assert.Equal([warm], _victims);
        _policy.RecordEviction(warm);
        wonder.Resident = true;
        wonder.Overdraft = true;
        EvictionEntry next = Newcomer("next", costSeconds: 1, sizeBytes: 10 * MiB);
        _policy.RecordUses(next, 200, 1_000);

        admitted = _policy.SelectVictims(next, 10 * MiB, [hot, wonder], _victims);

        Assert.True(admitted);
        Assert.Equal([wonder], _victims);
    }

    [Fact]
    public void WhenNotAdmitted_ThePreviousOverdraftModelGoesFirst_ThenTheLowestValues()
    {
        EvictionEntry hot = Resident("hot", uses: 100, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry warm = Resident("warm", uses: 20, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry overdraft = Resident("overdraft", uses: 1, costSeconds: 1, sizeBytes: 10 * MiB);
        overdraft.Overdraft = true;
        EvictionEntry wonder = Newcomer("one-hit", costSeconds: 1, sizeBytes: 20 * MiB);

        bool admitted = _policy.SelectVictims(wonder, 20 * MiB, [hot, overdraft, warm], _victims);

        Assert.False(admitted);
        Assert.Equal([overdraft, warm], _victims);
    }

    [Fact]
    public void SelectLowest_TakesTheOverdraftModelThenTheLowestValues_UntilTheBytesAreFreed()
    {
        EvictionEntry hot = Resident("hot", uses: 100, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry warm = Resident("warm", uses: 20, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry cold = Resident("cold", uses: 2, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry overdraft = Resident("overdraft", uses: 50, costSeconds: 1, sizeBytes: 5 * MiB);
        overdraft.Overdraft = true;

        _policy.SelectLowest(12 * MiB, [hot, warm, cold, overdraft], _victims);

        Assert.Equal([overdraft, cold], _victims);
    }

    [Fact]
    public void AStreamOfOneHitWonders_StaysWithinTheBudget_AndRarelyPushesOutAHotModel()
    {
        // A full budget of 10 hot models of 10 MiB, then 10,000 distinct names requested once each, with the hot models
        // still used now and then: driven as the budget drives the policy. Under a cap, a wonder larger than the room the
        // previous one frees must push out something; the hot models are the last to go.
        const long budget = 100 * MiB;
        var resident = new List<EvictionEntry>();
        EvictionEntry[] hot = new EvictionEntry[10];
        const int known = 10_010;
        for (int i = 0; i < hot.Length; i++)
        {
            hot[i] = Resident("hot-" + i, uses: 20, costSeconds: 0.5, sizeBytes: 10 * MiB, knownEntries: known);
            resident.Add(hot[i]);
        }

        int hotEvictions = 0;
        for (int i = 0; i < 10_000; i++)
        {
            if (i % 10 == 0)
            {
                _policy.RecordUses(hot[i / 10 % hot.Length], 1, known);
            }

            // The one-hit wonders are of every size and cost, some far cheaper per byte to keep than the hot models.
            long size = (1 + (i % 20)) * MiB;
            EvictionEntry wonder = Newcomer("wonder-" + i, costSeconds: 0.05 + (i % 7), sizeBytes: size, knownEntries: known);
            long used = resident.Sum(static e => e.Size);
            Assert.True(used <= budget, $"{used} of {budget} bytes before wonder {i}");
            bool admitted = true;
            if (used + size > budget)
            {
                admitted = _policy.SelectVictims(wonder, used + size - budget, resident, _victims);
                foreach (EvictionEntry victim in _victims)
                {
                    _policy.RecordEviction(victim);
                    resident.Remove(victim);
                    hotEvictions += victim.Name.StartsWith("hot-", StringComparison.Ordinal) ? 1 : 0;
                }
            }

            wonder.Resident = true;
            wonder.Overdraft = !admitted;
            resident.Add(wonder);
        }

        Assert.True(resident.Sum(static e => e.Size) <= budget);
        Assert.InRange(hotEvictions, 0, 100); // at most 1% of the wonders
        Assert.True(resident.Count(static e => e.Overdraft) <= 1);
    }

    [Fact]
    public void Frequency_IsHalvedOncePerAgingPeriod()
    {
        // A thousand known models: a period is AgingSamplesPerEntry uses per model (above the minimum period).
        const int known = 1_000;
        const int period = known * CostAwareEviction.AgingSamplesPerEntry;
        var entry = new EvictionEntry("model");
        _policy.RecordUses(entry, 16, known);
        _policy.RecordUses(new EvictionEntry("others"), period - 16, known);

        _policy.RecordUses(entry, 1, known);

        Assert.Equal((16 / 2.0) + 1, entry.Frequency);
    }

    [Fact]
    public void WithAFewModels_AnAgingPeriodLastsAtLeastTheMinimum_SoAHotModelsBurstIsNotAgedAway()
    {
        var hot = new EvictionEntry("hot");
        _policy.RecordUses(hot, 50, knownEntries: 3);
        _policy.RecordUses(new EvictionEntry("warm"), 50, knownEntries: 3);

        _policy.RecordUses(hot, 1, knownEntries: 3);

        Assert.Equal(51, hot.Frequency);
        Assert.True(CostAwareEviction.MinimumAgingPeriod > 100);
    }

    [Fact]
    public void Frequency_OfAModelNotUsedForSeveralPeriods_IsHalvedOncePerPeriod()
    {
        const int known = 1_000;
        const int period = known * CostAwareEviction.AgingSamplesPerEntry;
        var idle = new EvictionEntry("idle");
        _policy.RecordUses(idle, 16, known);
        var busy = new EvictionEntry("busy");
        // Three periods pass in one batch of uses of another model while "idle" is not used.
        _policy.RecordUses(busy, (3 * period) - 16, known);

        _policy.RecordUses(idle, 1, known);

        Assert.Equal((16 / 8.0) + 1, idle.Frequency);
    }

    [Fact]
    public void Aging_LowersTheValueByWhatTheFrequencyLost_AndKeepsTheClockOfTheLastUse()
    {
        const int known = 1_000;
        EvictionEntry idle = Resident("idle", uses: 8, costSeconds: 1, sizeBytes: 4, knownEntries: known);
        Assert.Equal(2, idle.Priority, 12);
        _policy.RecordUses(new EvictionEntry("busy"), known * CostAwareEviction.AgingSamplesPerEntry, known);
        EvictionEntry newcomer = Newcomer("newcomer", costSeconds: 1, sizeBytes: 4, knownEntries: known);

        _policy.SelectVictims(newcomer, 4, [idle], _victims);

        Assert.Equal(4, idle.Frequency);
        Assert.Equal(1, idle.Priority, 12);
    }

    [Fact]
    public void Frequency_IsCappedAtTheMaximum()
    {
        var entry = new EvictionEntry("very-hot");

        _policy.RecordUses(entry, CostAwareEviction.MaximumFrequency * 10, knownEntries: 1_000_000);

        Assert.Equal(CostAwareEviction.MaximumFrequency, entry.Frequency);
    }

    [Fact]
    public void ANewcomerThatSparesMoreLoadTime_IsAdmitted_EvenWhenUsedLessThanTheModelItDisplaces()
    {
        // Used 5 times, 1 s a load: keeping it spares 5 s. The newcomer, used twice at 10 s a load, spares 20 s.
        EvictionEntry frequentCheap = Resident("frequent-cheap", uses: 5, costSeconds: 1, sizeBytes: MiB);
        EvictionEntry rareExpensive = Newcomer("rare-expensive", costSeconds: 10, sizeBytes: 200 * MiB);
        _policy.RecordUses(rareExpensive, 1, 1_000);

        bool admitted = _policy.SelectVictims(rareExpensive, MiB, [frequentCheap], _victims);

        Assert.True(admitted);
        Assert.Equal([frequentCheap], _victims);
    }

    [Fact]
    public void ANewcomerThatSparesLessLoadTimeThanTheVictimsTogether_IsNotAdmitted()
    {
        // Each victim alone spares less than the newcomer (3 s against 4 s), both together more (6 s).
        EvictionEntry a = Resident("a", uses: 3, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry b = Resident("b", uses: 3, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry newcomer = Newcomer("newcomer", costSeconds: 1, sizeBytes: 20 * MiB);
        _policy.RecordUses(newcomer, 3, 1_000);

        bool admitted = _policy.SelectVictims(newcomer, 20 * MiB, [a, b], _victims);

        // Still loaded, in room evicted for it (the budget is a cap), as the overdraft model.
        Assert.False(admitted);
        Assert.Equal([a, b], _victims);
    }

    [Fact]
    public void AtEqualFrequency_ALargeCheapModelGoesBeforeASmallExpensiveOne()
    {
        EvictionEntry smallExpensive = Resident("small-expensive", uses: 5, costSeconds: 2, sizeBytes: MiB);
        EvictionEntry largeCheap = Resident("large-cheap", uses: 5, costSeconds: 0.5, sizeBytes: 100 * MiB);
        EvictionEntry newcomer = Newcomer("newcomer", costSeconds: 1, sizeBytes: MiB);
        _policy.RecordUses(newcomer, 5, 1_000);

        bool admitted = _policy.SelectVictims(newcomer, MiB, [smallExpensive, largeCheap], _victims);

        Assert.True(admitted);
        Assert.Equal([largeCheap], _victims);
    }

    [Fact]
    public void SelectVictims_WhenTheEvictableModelsCannotFreeEnough_ReturnsAllOfThemAndAdmits()
    {
        EvictionEntry a = Resident("a", uses: 100, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry b = Resident("b", uses: 1, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry overdraft = Resident("overdraft", uses: 1, costSeconds: 1, sizeBytes: 10 * MiB);
        overdraft.Overdraft = true;
        EvictionEntry newcomer = Newcomer("newcomer", costSeconds: 1, sizeBytes: 50 * MiB);

        bool admitted = _policy.SelectVictims(newcomer, 50 * MiB, [a, b, overdraft], _victims);

        Assert.True(admitted);
        Assert.Equal(3, _victims.Count);
        Assert.Equal(overdraft, _victims[0]);
        Assert.Equal([a, b, overdraft], _victims.OrderBy(static v => v.Name, StringComparer.Ordinal));
    }

    [Fact]
    public void SelectVictims_ClearsTheVictimsOfAnEarlierCall()
    {
        EvictionEntry low = Resident("low", uses: 1, costSeconds: 1, sizeBytes: 10 * MiB);
        _victims.Add(Resident("left-over", uses: 1, costSeconds: 1, sizeBytes: MiB));
        EvictionEntry newcomer = Newcomer("newcomer", costSeconds: 1, sizeBytes: 10 * MiB);
        _policy.RecordUses(newcomer, 5, 1_000);

        _policy.SelectVictims(newcomer, 10 * MiB, [low], _victims);

        Assert.Equal([low], _victims);
    }

    [Fact]
    public void RecordLoad_OfAZeroTimeLoad_StillValuesTheModelAboveZero()
    {
        var entry = new EvictionEntry("instant");
        _policy.RecordUses(entry, 3, 1_000);

        _policy.RecordLoad(entry, costSeconds: 0, sizeBytes: MiB);

        Assert.True(entry.Cost > 0);
        Assert.True(entry.Priority > 0);
    }

    [Fact]
    public void RecordUses_OfZeroUses_ChangesNothing()
    {
        EvictionEntry entry = Resident("model", uses: 3, costSeconds: 1, sizeBytes: MiB);
        double priority = entry.Priority;

        _policy.RecordUses(entry, 0, 1_000);

        Assert.Equal(3, entry.Frequency);
        Assert.Equal(priority, entry.Priority);
    }

    [Fact]
    public void SelectVictims_OverAListOfResidentModels_AllocatesNothingOnceWarm()
    {
        var resident = new List<EvictionEntry>();
        for (int i = 0; i < 200; i++)
        {
            resident.Add(Resident("model-" + i, uses: 1 + (i % 17), costSeconds: 0.1 + (i % 5), sizeBytes: (1 + (i % 9)) * MiB));
        }

        EvictionEntry newcomer = Newcomer("newcomer", costSeconds: 1, sizeBytes: 10 * MiB);
        _policy.RecordUses(newcomer, 50, 1_000);
        _policy.SelectVictims(newcomer, 20 * MiB, resident, _victims);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            _policy.SelectVictims(newcomer, 20 * MiB, resident, _victims);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.NotEmpty(_victims);
    }

    [Fact]
    public void ANewcomerThatFits_IsStillJudged_SoAOneHitWonderIsNotAdmittedOverTheModelsItsRoomWouldCost()
    {
        EvictionEntry hot = Resident("hot", uses: 50, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry wonder = Newcomer("one-hit", costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry busy = Newcomer("busy", costSeconds: 1, sizeBytes: 10 * MiB);
        _policy.RecordUses(busy, 60, 1_000);

        Assert.False(_policy.Admits(wonder, [hot]));
        Assert.True(_policy.Admits(busy, [hot]));
        Assert.True(_policy.Admits(wonder, []));
    }

    [Fact]
    public void ModelsNotAdmitted_PushOutEachOther_LowestValueFirst_AndOnlyAsMuchAsIsNeeded()
    {
        EvictionEntry hot = Resident("hot", uses: 50, costSeconds: 1, sizeBytes: 10 * MiB);
        EvictionEntry first = Resident("first-wonder", uses: 1, costSeconds: 1, sizeBytes: 10 * MiB);
        first.Overdraft = true;
        EvictionEntry second = Resident("second-wonder", uses: 2, costSeconds: 1, sizeBytes: 10 * MiB);
        second.Overdraft = true;
        EvictionEntry wonder = Newcomer("third-wonder", costSeconds: 1, sizeBytes: 10 * MiB);

        bool admitted = _policy.SelectVictims(wonder, 10 * MiB, [hot, first, second], _victims);

        // The one-hit wonders stay in probation and push out each other; the hot model and the second wonder stay.
        Assert.False(admitted);
        Assert.Equal([first], _victims);
    }

    [Fact]
    public void Admits_OverAListOfResidentModels_AllocatesNothingOnceWarm()
    {
        var resident = new List<EvictionEntry>();
        for (int i = 0; i < 200; i++)
        {
            resident.Add(Resident("model-" + i, uses: 1 + (i % 17), costSeconds: 0.1 + (i % 5), sizeBytes: (1 + (i % 9)) * MiB));
            resident[i].Overdraft = i % 10 == 0;
        }

        EvictionEntry newcomer = Newcomer("newcomer", costSeconds: 1, sizeBytes: 10 * MiB);
        _policy.Admits(newcomer, resident);
        _policy.SelectVictims(newcomer, 20 * MiB, resident, _victims);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            _policy.Admits(newcomer, resident);
            _policy.SelectVictims(newcomer, 20 * MiB, resident, _victims);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }
}
