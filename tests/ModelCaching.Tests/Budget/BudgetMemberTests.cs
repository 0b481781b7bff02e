using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Budget;

/// <summary>
/// A cache's <see cref="BudgetMember"/>: what it reports to the budget as the cache's state changes (its standing, its
/// uses, the bytes it holds), all read from fields the cache pushes, never by calling the cache.
/// </summary>
public sealed class BudgetMemberTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task TheStanding_FollowsTheCache_NotLoadedReadyDegradedRecoveredUnloaded()
    {
        var budget = new MemoryBudget("provider", 1_000_000);
        var source = new MutableSource("v1");
        await using ModelCache<FakeModel> cache = Create("m", budget, new ModelOptions<FakeModel> { Source = source, Loader = new FakeLoader() });
        BudgetMember member = cache.BudgetMember!;

        Assert.Equal(EvictionStanding.Kept, member.Standing);

        await cache.GetModelAsync();
        Assert.Equal(EvictionStanding.Evictable, member.Standing);

        // A bad reload keeps the last good model: degraded, evicted only as a last resort.
        source.Content = "bad v2";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.Equal(EvictionStanding.LastResort, member.Standing);

        // The source is back to the serving content: ready again.
        source.Content = "v1";
        await cache.ReloadAsync();
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal(EvictionStanding.Evictable, member.Standing);

        cache.Invalidate();
        Assert.Equal(EvictionStanding.Kept, member.Standing);
    }

    [Fact]
    public async Task APinnedModel_IsKept_WhileItServes()
    {
        var budget = new MemoryBudget("provider", 1_000_000);
        await using ModelCache<FakeModel> cache = Create("pinned", budget, new ModelOptions<FakeModel> { Source = new MutableSource("v1"), Loader = new FakeLoader(), Pinned = true });

        await cache.GetModelAsync();

        Assert.Equal(EvictionStanding.Kept, cache.BudgetMember!.Standing);
    }

    [Fact]
    public async Task HeldBytes_FollowTheServingGeneration_AndADisposedCacheLeaves()
    {
        var budget = new MemoryBudget("provider", 1_000_000);
        var source = new MutableSource("12345");
        ModelCache<FakeModel> cache = Create("m", budget, new ModelOptions<FakeModel> { Source = source, Loader = new FakeLoader(), DrainDelay = TimeSpan.Zero, RollbackRetention = ModelRollbackRetention.None });
        BudgetMember member = cache.BudgetMember!;

        await cache.GetModelAsync();
        Assert.Equal(5, member.Held);
        Assert.True(member.HoldsBytes);

        // A reload charges the new generation before the old one leaves: resident throughout.
        source.Content = "1234567";
        await cache.ReloadAsync();
        Assert.Equal(7, member.Held);

        cache.Invalidate();
        Assert.Equal(0, member.Held);
        Assert.False(member.HoldsBytes);
        Assert.True(member.Joined);

        await cache.DisposeAsync();
        Assert.False(member.Joined);
    }

    [Fact]
    public async Task EvictingThroughTheMember_UnloadsTheCache_AndItReportsKept()
    {
        var budget = new MemoryBudget("provider", 1_000_000);
        await using ModelCache<FakeModel> cache = Create("m", budget, new ModelOptions<FakeModel> { Source = new MutableSource("v1"), Loader = new FakeLoader() });
        BudgetMember member = cache.BudgetMember!;
        await cache.GetModelAsync();

        Assert.True(member.Evict());

        Assert.Equal(ModelCacheState.Evicted, cache.State);
        Assert.Equal(EvictionStanding.Kept, member.Standing);
    }

    [Fact]
    public async Task AnEvictionOnAStaleStanding_UnloadsNothing_AndCorrectsTheStanding()
    {
        var budget = new MemoryBudget("provider", 1_000_000);
        await using ModelCache<FakeModel> cache = Create("m", budget, new ModelOptions<FakeModel> { Source = new MutableSource("v1"), Loader = new FakeLoader() });
        BudgetMember member = cache.BudgetMember!;

        // What a budget could have read just before the cache changed: nothing is serving now.
        member.Publish(EvictionStanding.Evictable);

        Assert.False(member.Evict());
        Assert.Equal(EvictionStanding.Kept, member.Standing);
    }

    [Fact]
    public async Task Uses_AreTheCachesHitsAndMisses_SinceTheyWereLastTaken()
    {
        var budget = new MemoryBudget("provider", 1_000_000);
        await using ModelCache<FakeModel> cache = Create("m", budget, new ModelOptions<FakeModel> { Source = new MutableSource("v1"), Loader = new FakeLoader() });
        BudgetMember member = cache.BudgetMember!;

        // The miss is counted, and taken by the load's reservation (the newcomer's uses value it).
        await cache.GetModelAsync();
        Assert.Equal(0, member.TakeUses());

        cache.GetModel();
        cache.GetModel();
        cache.GetModel();
        Assert.Equal(3, member.TakeUses());
        Assert.Equal(0, member.TakeUses());

        cache.GetModel();
        Assert.Equal(1, member.TakeUses());
    }

    [Fact]
    public void RecordedMisses_WithoutAHitCounter_AreItsUses()
    {
        var member = new BudgetMember(new NoCache("m"), hits: null);

        member.RecordMiss();
        member.RecordMiss();

        Assert.Equal(2, member.TakeUses());
        Assert.Equal(0, member.TakeUses());
    }

    [Fact]
    public void HeldBytes_MakeTheEntryResident_AndNoneLeftEndsItsProbation()
    {
        var member = new BudgetMember(new NoCache("m"), hits: null) { Joined = true };
        EvictionEntry entry = member.Entry;

        member.AddHeld(100);
        entry.Overdraft = true;
        Assert.True(member.HoldsBytes);
        Assert.True(entry.Resident);

        member.AddHeld(-100);
        Assert.False(member.HoldsBytes);
        Assert.False(entry.Resident);
        Assert.False(entry.Overdraft);
    }

    [Fact]
    public void AMemberThatLeft_StillCountsItsBytes_ButNoLongerMovesTheNamesEntry()
    {
        var member = new BudgetMember(new NoCache("m"), hits: null) { Joined = false };
        EvictionEntry entry = member.Entry;

        member.AddHeld(100);

        Assert.Equal(100, member.Held);
        Assert.False(entry.Resident);
    }

    private ModelCache<FakeModel> Create(string name, MemoryBudget budget, ModelOptions<FakeModel> options) =>
        new(name, options, _time, NullLoggerFactory.Instance, new ModelCacheMetrics(null), new ModelLoadLimiter(4), budget);

    private sealed class NoCache(string name) : IBudgetedCache
    {
        public string Name => name;

        public bool Evict() => false;
    }
}
