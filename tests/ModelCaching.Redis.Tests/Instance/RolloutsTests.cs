namespace ModelCaching.Redis.Tests.Instance;

/// <summary>The rules of staged rollouts on their own: targets, canary choice and load delays.</summary>
public sealed class RolloutsTests
{
    private static readonly string[] Instances = [.. Enumerable.Range(0, 20).Select(i => $"pod-{i}")];

    [Theory]
    [InlineData(0.01, 1)]
    [InlineData(0.25, 5)]
    [InlineData(0.26, 6)]
    [InlineData(0.99, 20)]
    public void ChoosesAtLeastOne_AndTheShareRoundedUp(double share, int expected) =>
        Assert.Equal(expected, Rollouts.ChooseCanaries(Instances, "m", "v1", share).Count);

    [Fact]
    public void TheChoice_DependsOnInstanceAndVersion_NotOnTheOrderTheInstancesCameIn()
    {
        IReadOnlyList<string> chosen = Rollouts.ChooseCanaries(Instances, "m", "v1", 0.25);
        Assert.Equal(chosen, Rollouts.ChooseCanaries(Instances.Reverse(), "m", "v1", 0.25));
        Assert.NotEqual(chosen, Rollouts.ChooseCanaries(Instances, "m", "v2", 0.25));

        // Over many versions every instance takes its turn: no pod is always (or never) the canary.
        var counts = Instances.ToDictionary(i => i, _ => 0);
        for (int v = 0; v < 400; v++)
        {
            foreach (string id in Rollouts.ChooseCanaries(Instances, "m", $"v{v}", 0.25))
            {
                counts[id]++;
            }
        }

        Assert.All(counts.Values, c => Assert.InRange(c, 50, 150)); // 100 expected each
    }

    [Fact]
    public void AnInstanceJoining_MovesAtMostOneCanary()
    {
        IReadOnlyList<string> before = Rollouts.ChooseCanaries(Instances, "m", "v7", 0.25);
        IReadOnlyList<string> after = Rollouts.ChooseCanaries([.. Instances, "pod-new"], "m", "v7", 0.25);
        Assert.True(before.Except(after).Count() <= 1);
    }

    [Fact]
    public void TargetFollowsTheStage()
    {
        FleetVersion previous = Version("old");
        FleetVersion next = Version("new");
        FleetDesiredVersion Desired(FleetRolloutStage stage) => new() { Version = next, ChangedBy = "t", Rollout = new FleetRollout { Stage = stage, CanaryShare = 0.5, Canaries = ["pod-1"], Previous = previous } };

        Assert.Same(next, Rollouts.TargetFor(Desired(FleetRolloutStage.Canary), "pod-1"));
        Assert.Same(previous, Rollouts.TargetFor(Desired(FleetRolloutStage.Canary), "pod-2"));
        Assert.Same(next, Rollouts.TargetFor(Desired(FleetRolloutStage.Promoted), "pod-2"));
        Assert.Same(previous, Rollouts.TargetFor(Desired(FleetRolloutStage.Stopped), "pod-1"));
        Assert.Same(previous, Rollouts.TargetFor(Desired(FleetRolloutStage.Aborted), "pod-1"));
        Assert.Same(next, Rollouts.TargetFor(new FleetDesiredVersion { Version = next, ChangedBy = "t" }, "pod-2"));
        Assert.True(Rollouts.IsCanary(Desired(FleetRolloutStage.Canary), "pod-1"));
        Assert.False(Rollouts.IsCanary(Desired(FleetRolloutStage.Stopped), "pod-1"));
        Assert.Same(previous, Rollouts.Stable(Desired(FleetRolloutStage.Canary)));
        Assert.Same(next, Rollouts.Stable(Desired(FleetRolloutStage.Promoted)));
        Assert.Null(Rollouts.Stable(null));
    }

    [Fact]
    public void OnlyAMoveOfTheWholeFleetWaitsForTheJitter()
    {
        FleetVersion next = Version("new");
        FleetDesiredVersion Desired(FleetRolloutStage stage) => new() { Version = next, ChangedBy = "t", Rollout = new FleetRollout { Stage = stage, CanaryShare = 0.5, Canaries = ["pod-1"], Previous = Version("old") } };

        Assert.True(Rollouts.LoadsAtOnce(Desired(FleetRolloutStage.Canary)));
        Assert.True(Rollouts.LoadsAtOnce(Desired(FleetRolloutStage.Aborted)));
        Assert.True(Rollouts.LoadsAtOnce(Desired(FleetRolloutStage.Stopped)));
        Assert.False(Rollouts.LoadsAtOnce(Desired(FleetRolloutStage.Promoted)));
        Assert.False(Rollouts.LoadsAtOnce(new FleetDesiredVersion { Version = next, ChangedBy = "t" }));
        Assert.False(Rollouts.LoadsAtOnce(null));
    }

    [Fact]
    public void LoadDelays_StayInTheWindow_AndSpreadOverIt()
    {
        TimeSpan jitter = TimeSpan.FromSeconds(10);
        TimeSpan[] delays = [.. Instances.Select(id => Rollouts.LoadDelay(id, "m", "v1", jitter))];
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, jitter));
        Assert.True(delays.Max() - delays.Min() > TimeSpan.FromSeconds(5), "20 instances cover most of the window");
        Assert.Equal(TimeSpan.Zero, Rollouts.LoadDelay("pod-1", "m", "v1", TimeSpan.Zero));
    }

    private static FleetVersion Version(string id) => new() { Model = "m", VersionId = id, Sha256 = new string('a', 64), SizeBytes = 1, Storage = FleetContentStorage.Store, PublishedBy = "t", PublishedAt = DateTimeOffset.UnixEpoch };
}
