namespace ModelCaching.Redis.Tests.Placement;

public sealed class FleetPlacementTests
{
    private static readonly string[] Three = ["instance-a", "instance-b", "instance-c"];

    [Fact]
    public void Owners_AreReplicasDistinctLiveInstances_TheSameWhateverTheOrderOfTheMembership()
    {
        for (int i = 0; i < 200; i++)
        {
            string name = $"tenant-{i}";
            IReadOnlyList<string> owners = FleetPlacement.Owners(name, Three, replicas: 2);
            Assert.Equal(2, owners.Count);
            Assert.Equal(2, owners.Distinct().Count());
            Assert.All(owners, owner => Assert.Contains(owner, Three));
            Assert.Equal(owners, FleetPlacement.Owners(name, Three.Reverse(), replicas: 2));
            Assert.Equal(owners, FleetPlacement.Owners(name, [.. Three, .. Three], replicas: 2));
            Assert.True(FleetPlacement.IsOwner(name, owners[0], Three, 2));
            Assert.False(FleetPlacement.IsOwner(name, Three.Except(owners).Single(), Three, 2));
        }
    }

    [Fact]
    public void Owners_WithFewerInstancesThanReplicas_AreAllOfThem_AndNoneWithNone()
    {
        Assert.Equal(["instance-a"], FleetPlacement.Owners("tenant-1", ["instance-a"], replicas: 2));
        Assert.Empty(FleetPlacement.Owners("tenant-1", [], replicas: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => FleetPlacement.Owners("tenant-1", Three, replicas: 0));
    }

    [Fact]
    public void Score_IsStableAcrossProcessesAndReleases()
    {
        // XxHash3 seed 0 of "instance-a\ntenant-1": a router and an instance built from other releases must agree.
        Assert.Equal(System.IO.Hashing.XxHash3.HashToUInt64("instance-a\ntenant-1"u8), FleetPlacement.Score("instance-a", "tenant-1"));
        Assert.Equal(FleetPlacement.Score(new string('i', 300), new string('n', 300)), FleetPlacement.Score(new string('i', 300), new string('n', 300)));
    }

    [Fact]
    public void AnInstanceJoining_MovesAboutOneNthOfTheNames_AndSpreadsThemEvenly()
    {
        const int Names = 10_000;
        string[] four = [.. Three, "instance-d"];
        int moved = 0;
        var load = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Names; i++)
        {
            string name = $"tenant-{i}";
            IReadOnlyList<string> before = FleetPlacement.Owners(name, Three, 2);
            IReadOnlyList<string> after = FleetPlacement.Owners(name, four, 2);
            moved += after.Except(before).Count(); // the replicas the new instance took
            Assert.True(after.Except(before).All(owner => owner == "instance-d"), "only the newcomer gains names");
            foreach (string owner in after)
            {
                load[owner] = load.GetValueOrDefault(owner) + 1;
            }
        }

        // R/N of the replicas move to the newcomer: 2 x 10,000 x 1/4 = 5,000 (binomial sd ~61).
        Assert.InRange(moved, 4_700, 5_300);
        Assert.All(load.Values, count => Assert.InRange(count, 4_700, 5_300));
    }
}
