using ModelCaching.Redis.Instance;

namespace ModelCaching.Redis.Tests.Placement;

/// <summary>
/// An instance's view of the membership: the placing members and itself, the owners as <see cref="FleetPlacement"/>
/// computes them, and the refusal it builds for a name it does not own.
/// </summary>
public sealed class PlacementViewTests
{
    private static readonly string[] Names = [.. Enumerable.Range(0, 200).Select(i => $"tenant-{i}")];

    [Fact]
    public void TheView_HoldsThePlacingMembersAndItself_AndComputesTheOwnersAsFleetPlacementDoes()
    {
        FleetMember[] members = [Member("b", replicas: 2, "tenant-1"), Member("c", replicas: 2), Member("publisher-like", replicas: 0), Member("a", replicas: 2)];

        var view = new PlacementView(members, self: "a", selfAddress: "http://a:1", replicas: 2);

        Assert.Equal(["a", "b", "c"], view.Members); // a member placing nothing owns nothing; "a" itself counts from its own settings
        Assert.All(Names, name => Assert.Equal(FleetPlacement.Owners(name, ["a", "b", "c"], 2), view.Owners(name)));
        Assert.All(Names, name => Assert.Equal(FleetPlacement.IsOwner(name, "a", ["a", "b", "c"], 2), view.Owns(name)));
        Assert.True(view.IsLoadedOn("b", "tenant-1"));
        Assert.False(view.IsLoadedOn("c", "tenant-1"));
        Assert.Equal("http://a:1", view.AddressOf("a"));
        Assert.Equal("http://b.test", view.AddressOf("b"));
    }

    [Fact]
    public void AnInstanceAlone_OrMissingFromTheEntriesRead_StillOwnsAsAMember()
    {
        var alone = new PlacementView([], self: "a", selfAddress: null, replicas: 2);

        Assert.Equal(["a"], alone.Members);
        Assert.All(Names, name => Assert.True(alone.Owns(name)));
        Assert.True(alone.SameMembers(new PlacementView([Member("a", 2)], "a", null, 2)));
        Assert.False(alone.SameMembers(new PlacementView([Member("b", 2)], "a", null, 2)));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    [InlineData(7, 2)]
    [InlineData(3, 5)]
    public void Owns_GivesTheOwnersAnswer_ForEveryMemberOfAnyMembership(int members, int replicas)
    {
        string[] ids = [.. Enumerable.Range(0, members).Select(i => $"i{i}")];
        foreach (string self in ids)
        {
            var view = new PlacementView(ids.Where(id => id != self).Select(id => Member(id, replicas)), self, selfAddress: null, replicas);

            Assert.All(Names, name => Assert.Equal(FleetPlacement.Owners(name, ids, replicas).Contains(self), view.Owns(name)));
        }

        // Each name has min(R, N) owners, so the members' answers add up to that many per name.
        var views = ids.Select(self => new PlacementView(ids.Select(id => Member(id, replicas)), self, null, replicas)).ToList();
        Assert.All(Names, name => Assert.Equal(Math.Min(replicas, members), views.Count(v => v.Owns(name))));
    }

    [Fact]
    public void Owns_AllocatesNothing()
    {
        // An instance asks for every placed name on each membership read (its handoff): with a thousand tenants that was
        // a list and a set per name per heartbeat, garbage the hit path's GC then pays for.
        var view = new PlacementView([Member("b", 2), Member("c", 2)], self: "a", selfAddress: null, replicas: 2);
        string[] names = [.. Enumerable.Range(0, 1000).Select(i => $"tenant-t{i:D4}")];
        int owned = names.Count(view.Owns);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int again = 0;
        foreach (string name in names)
        {
            again += view.Owns(name) ? 1 : 0;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(owned, again);
        Assert.InRange(owned, 600, 733); // about R/N = 2/3 of the names
    }

    [Fact]
    public void TheRefusal_NamesTheModelTheInstanceAndTheOwnersWithTheirAddresses()
    {
        var view = new PlacementView([Member("b", 1), Member("c", 1)], self: "a", selfAddress: null, replicas: 1);
        string name = Names.First(n => !view.Owns(n));

        ModelNotOwnedException refused = view.NotOwned(name);

        string owner = Assert.Single(refused.Owners);
        Assert.Equal($"http://{owner}.test", Assert.Single(refused.OwnerAddresses));
        Assert.Equal(name, refused.ModelName);
        Assert.Equal("a", refused.InstanceId);
        Assert.Equal($"Model '{name}' could not be loaded from instance 'a': the model is placed on other instances of the fleet; its owners are '{owner}' (http://{owner}.test)", refused.Message);
    }

    [Fact]
    public void TheException_WithoutAddresses_HasOneNullPerOwner_AndRefusesAddressesThatDoNotMatchTheOwners()
    {
        var refused = new ModelNotOwnedException("tenant-a", "x", ["a", "b"]);
        Assert.Equal([null, null], refused.OwnerAddresses);
        Assert.Contains("'a', 'b'", refused.Message);
        Assert.Contains("none is known", new ModelNotOwnedException("tenant-a", "x", []).Message);

        ArgumentException mismatch = Assert.Throws<ArgumentException>(() => new ModelNotOwnedException("tenant-a", "x", ["a", "b"], ["http://a"]));
        Assert.Equal("ownerAddresses", mismatch.ParamName);
    }

    private static FleetMember Member(string id, int replicas, params string[] placed) => new()
    {
        InstanceId = id,
        Host = "host",
        Address = $"http://{id}.test",
        Replicas = replicas,
        PlacedModels = placed,
        Models = [],
    };
}
