using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary><see cref="FrequencyAging"/>: uses halved once per period, lazily, one entry at a time.</summary>
public sealed class FrequencyAgingTests
{
    [Fact]
    public void UsesCountedInABatch_MayPassSeveralPeriods()
    {
        var aging = new FrequencyAging();

        aging.Count(250, period: 100);
        Assert.Equal(2, aging.Epoch);

        aging.Count(50, period: 100);
        Assert.Equal(3, aging.Epoch);
    }

    [Fact]
    public void AnEntry_IsHalvedPerPeriodPassed_WhenItIsNextRead_AndLosesTheValueItsUsesGave()
    {
        var aging = new FrequencyAging();
        var entry = new EvictionEntry("m") { Frequency = 8, Cost = 2, Size = 4, Priority = 10 };

        aging.Count(200, period: 100);
        aging.Age(entry, minimumCost: 1e-6);

        Assert.Equal(2, entry.Frequency);
        Assert.Equal(10 - ((8 - 2) * 2.0 / 4), entry.Priority);
        Assert.Equal(2, entry.Epoch);

        aging.Age(entry, minimumCost: 1e-6);
        Assert.Equal(2, entry.Frequency);
    }
}
