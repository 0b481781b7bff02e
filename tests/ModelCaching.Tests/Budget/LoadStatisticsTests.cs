using Microsoft.Extensions.Time.Testing;
using ModelCaching.Budget;

namespace ModelCaching.Tests.Budget;

/// <summary><see cref="LoadStatistics"/> and <see cref="RecentLoads"/>: what a budget's loads measured.</summary>
public sealed class LoadStatisticsTests
{
    [Fact]
    public void TheTypicalSize_IsTheMeanModelSize_WithoutTheRawBytesKeptBesideIt()
    {
        var loads = new LoadStatistics();
        Assert.Equal(0, loads.TypicalSize);

        loads.Record(bytes: 150, keptBytes: 50, loadSeconds: 1);
        loads.Record(bytes: 300, keptBytes: 0, loadSeconds: 2);

        Assert.Equal(200, loads.TypicalSize);
        Assert.Equal(300, loads.Largest);
    }

    [Fact]
    public void TheEstimatedCost_IsAMillisecondPerMiB_UntilLoadsMeasuredOne()
    {
        var loads = new LoadStatistics();
        Assert.Equal(0.002, loads.EstimatedCost(2 * 1024 * 1024), precision: 9);

        loads.Record(bytes: 1000, keptBytes: 0, loadSeconds: 4);

        Assert.Equal(2.0, loads.EstimatedCost(500), precision: 9);
    }

    [Fact]
    public void RecentLoads_CountEachLoadForItsOwnDrainDelay()
    {
        var time = new FakeTimeProvider();
        var recent = new RecentLoads(time);

        recent.Record(recent.Now(), 100, TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(5));
        recent.Record(recent.Now(), 50, TimeSpan.FromSeconds(30));
        recent.Record(recent.Now(), 999, TimeSpan.Zero);
        Assert.Equal(150, recent.Bytes);

        time.Advance(TimeSpan.FromSeconds(5));
        recent.Record(recent.Now(), 0, TimeSpan.FromSeconds(1));
        Assert.Equal(50, recent.Bytes);

        time.Advance(TimeSpan.FromSeconds(30));
        recent.Record(recent.Now(), 0, TimeSpan.Zero);
        Assert.Equal(0, recent.Bytes);
    }
}
