using FsCheck;
using FsCheck.Fluent;
using ModelCaching.Redis;
using ModelCaching.Routing.Membership;

namespace ModelCaching.Routing.Tests.Membership;

public sealed class RoutingTableTests
{
    private static FleetMember Member(string id, int replicas, params string[] loaded) => new()
    {
        InstanceId = id,
        Host = "test",
        Address = $"http://{id}.local:5080",
        Replicas = replicas,
        Models = [.. loaded.Select(name => new FleetMemberModel { Name = name, State = ModelCacheState.Ready })],
    };

    [Fact]
    public void Owners_AreTheFleetsPlacementOwners_InPlacementOrder_WhenNoneHasTheModelLoaded()
    {
        var table = new RoutingTable([Member("a", 2), Member("b", 2), Member("c", 2), Member("d", 2)]);

        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(FleetPlacement.Owners($"m{i}", ["a", "b", "c", "d"], 2), table.Owners($"m{i}"));
        }
    }

    [Fact]
    public void Owners_PutThoseThatHaveTheModelLoadedFirst()
    {
        string model = Enumerable.Range(0, 100).Select(i => $"m{i}").First(m => FleetPlacement.Owners(m, ["a", "b", "c"], 2)[0] == "a");
        string second = FleetPlacement.Owners(model, ["a", "b", "c"], 2)[1];
        var table = new RoutingTable([Member("a", 2), Member("b", 2, second == "b" ? model : "x"), Member("c", 2, second == "c" ? model : "x")]);

        Assert.Equal([second, "a"], table.Owners(model));
    }

    [Fact]
    public void AModelLoadedOnANonOwner_DoesNotMakeItAnOwner()
    {
        string model = Enumerable.Range(0, 100).Select(i => $"m{i}").First(m => !FleetPlacement.Owners(m, ["a", "b", "c"], 2).Contains("c"));
        var table = new RoutingTable([Member("a", 2), Member("b", 2), Member("c", 2, model)]);

        Assert.DoesNotContain("c", table.Owners(model));
    }

    [Fact]
    public void InstancesThatPlaceNothing_AreNotOwners_WhileOthersPlace()
    {
        var table = new RoutingTable([Member("a", 2), Member("b", 2), Member("gateway", 0)]);

        for (int i = 0; i < 50; i++)
        {
            Assert.DoesNotContain("gateway", table.Owners($"m{i}"));
        }
    }

    [Fact]
    public void WhenNoInstancePlaces_EveryInstanceServes_InRendezvousOrder()
    {
        var table = new RoutingTable([Member("a", 0), Member("b", 0), Member("c", 0)]);

        Assert.Equal(FleetPlacement.Owners("m1", ["a", "b", "c"], 3), table.Owners("m1"));
    }

    [Fact]
    public void WithNoMembers_NoOneOwnsAnything()
    {
        Assert.Empty(RoutingTable.Empty.Owners("m1"));
    }

    [Fact]
    public void WhenTheInstancesDisagreeOnReplicas_TheLargestIsTaken_AndEachReportedCountIsKnown()
    {
        var table = new RoutingTable([Member("a", 2), Member("b", 3), Member("c", 2), Member("d", 2)]);

        Assert.Equal(3, table.Replicas);
        Assert.Equal([2, 3], table.ReplicaCounts);
        Assert.Equal(FleetPlacement.Owners("m1", ["a", "b", "c", "d"], 3), table.Owners("m1"));
    }

    /// <summary>
    /// Whatever replica counts the instances report and whatever they have loaded: every instance that counts itself an
    /// owner (by its own replica count) is among the router's owners, the router's owners are all instances that place,
    /// and none is listed twice.
    /// </summary>
    [FsCheck.Xunit.Property(MaxTest = 300)]
    public Property EveryInstanceThatCountsItselfAnOwner_IsAmongTheRoutersOwners()
    {
        Gen<FleetMember[]> members =
            from count in Gen.Choose(1, 7)
            from replicas in Gen.ArrayOf(Gen.Choose(0, 4), count)
            from loaded in Gen.ArrayOf(Gen.Elements(true, false), count)
            select Enumerable.Range(0, count).Select(i => Member($"i{i}", replicas[i], loaded[i] ? "m" : "other")).ToArray();

        return Prop.ForAll(members.ToArbitrary(), all =>
        {
            var table = new RoutingTable(all);
            IReadOnlyList<string> owners = table.Owners("m");
            string[] placing = [.. all.Where(m => m.Replicas > 0).Select(m => m.InstanceId)];
            bool selfOwnersIncluded = all.Where(m => m.Replicas > 0)
                .All(m => !FleetPlacement.IsOwner("m", m.InstanceId, placing, m.Replicas) || owners.Contains(m.InstanceId));
            bool onlyPlacing = placing.Length == 0 || owners.All(placing.Contains);
            bool loadedFirst = owners.SkipWhile(o => table.IsLoaded(o, "m")).All(o => !table.IsLoaded(o, "m"));
            return selfOwnersIncluded && onlyPlacing && loadedFirst && owners.Distinct().Count() == owners.Count;
        });
    }
}
