using ModelCaching.Diagnostics;

namespace ModelCaching.Tests.Diagnostics;

/// <summary>
/// Hits counted elsewhere (a prediction pool's per-thread cells) and added to a counter's sum: the cache's hit count, its
/// metric and its budget's uses all read <see cref="StackRegionCounter.Sum"/>.
/// </summary>
public sealed class StackRegionCounterSourceTests
{
    [Fact]
    public void Sum_AddsEverySourcesHits_AndKeepsThemWhenTheSourceLeaves()
    {
        var counter = new StackRegionCounter();
        var first = new FixedSource { Hits = 10 };
        var second = new FixedSource { Hits = 5 };
        counter.Increment();
        counter.Increment();
        Assert.Equal(2, counter.Sum());

        counter.AddSource(first);
        counter.AddSource(second);
        Assert.Equal(17, counter.Sum());

        first.Hits = 40;
        Assert.Equal(47, counter.Sum());

        // A source that leaves keeps what it counted in the sum, and is not read again.
        counter.RemoveSource(first);
        first.Hits = 1_000;
        Assert.Equal(47, counter.Sum());

        counter.RemoveSource(first); // a second removal changes nothing
        counter.RemoveSource(new FixedSource { Hits = 99 }); // nor does one of a source never added
        counter.RemoveSource(second);
        counter.Increment();
        Assert.Equal(48, counter.Sum());
    }

    [Fact]
    public void Sources_OfOneCounter_AreNotAddedToAnother()
    {
        var counter = new StackRegionCounter();
        var other = new StackRegionCounter();
        counter.AddSource(new FixedSource { Hits = 7 });

        other.Increment();

        Assert.Equal(7, counter.Sum());
        Assert.Equal(1, other.Sum());
    }

    private sealed class FixedSource : StackRegionCounter.IHitSource
    {
        public long Hits { get; set; }
    }
}
