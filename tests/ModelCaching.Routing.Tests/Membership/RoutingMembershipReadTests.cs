using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.Redis;
using ModelCaching.Routing.Membership;
using StackExchange.Redis;
using static ModelCaching.Routing.Tests.Support.FleetEntries;

namespace ModelCaching.Routing.Tests.Membership;

/// <summary>
/// The router's step after each read of the membership entries (<see cref="RoutingMembership.Take"/>): the routing table
/// and the destinations stay the same objects while the fields routing reads are unchanged, so a read of an idle fleet
/// allocates next to nothing; a changed state or list of placed models makes a new table at the next read.
/// </summary>
public sealed class RoutingMembershipReadTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AReadOfAnUnchangedMembership_KeepsTheTableAndDestinations_MovesTheReadTime_AndAllocatesNextToNothing()
    {
        // Three instances with 300 loaded tenants each (an entry of about 67 KB), written again at each heartbeat.
        const int members = 3, loaded = 300;
        RedisValue[] Entries(DateTimeOffset at) => [.. Enumerable.Range(0, members).Select(i => Entry(Member($"instance-{i}", at, loaded)))];
        RedisValue[] first = Entries(T0), warm = Entries(T0.AddSeconds(2)), next = Entries(T0.AddSeconds(4));
        Assert.InRange(first.Sum(e => ((byte[])e!).Length), members * 30_000, members * 70_000);
        RoutingMembership membership = Membership();
        membership.Take(first, T0);
        RoutingTable table = membership.Table;
        RoutingDestinations destinations = membership.Destinations;
        membership.Take(warm, T0.AddSeconds(2)); // the unchanged path compiled before it is measured

        long before = GC.GetAllocatedBytesForCurrentThread();
        membership.Take(next, T0.AddSeconds(4));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Same(table, membership.Table);
        Assert.Same(destinations, membership.Destinations);
        Assert.Equal(T0.AddSeconds(4), membership.ReadAt);
        Assert.Equal(Enumerable.Range(0, members).Select(i => $"instance-{i}"), table.Members.Select(m => m.InstanceId));
        Assert.True(table.IsLoaded("instance-1", "tenant-0299"));
        Assert.True(allocated < 1024, $"a membership read allocated {allocated} bytes");
    }

    [Fact]
    public void AModelThatFailed_IsNoLongerTakenForLoaded_AtTheNextRead()
    {
        // m's owners among a, b, c; the second owner has it loaded, so it goes first.
        string model = Enumerable.Range(0, 100).Select(i => $"m{i}").First(m => FleetPlacement.Owners(m, ["a", "b", "c"], 2)[0] == "a");
        IReadOnlyList<string> placement = FleetPlacement.Owners(model, ["a", "b", "c"], 2);
        string second = placement[1];
        RedisValue[] Entries(ModelCacheState state) =>
            [.. new[] { "a", "b", "c" }.Select(id => Entry(Placing(id, id == second ? [new() { Name = model, State = state }] : [], placed: [])))];
        RoutingMembership membership = Membership();
        membership.Take(Entries(ModelCacheState.Ready), T0);
        RoutingTable ready = membership.Table;
        Assert.Equal([second, "a"], ready.Owners(model));

        membership.Take(Entries(ModelCacheState.Failed), T0.AddSeconds(2));

        Assert.NotSame(ready, membership.Table);
        Assert.False(membership.Table.IsLoaded(second, model));
        Assert.Equal(placement, membership.Table.Owners(model));
    }

    [Fact]
    public void AChangedListOfPlacedModels_IsSeenAtTheNextRead()
    {
        string model = Enumerable.Range(0, 100).Select(i => $"m{i}").First(m => FleetPlacement.Owners(m, ["a", "b", "c"], 2)[0] == "a");
        IReadOnlyList<string> placement = FleetPlacement.Owners(model, ["a", "b", "c"], 2);
        string second = placement[1];
        RedisValue[] Entries(params string[] placedOnSecond) =>
            [.. new[] { "a", "b", "c" }.Select(id => Entry(Placing(id, [], placed: id == second ? placedOnSecond : ["other"])))];
        RoutingMembership membership = Membership();
        membership.Take(Entries("other"), T0);
        RoutingTable before = membership.Table;
        Assert.Equal(placement, before.Owners(model));

        membership.Take(Entries("other", model), T0.AddSeconds(2));
        RoutingTable placed = membership.Table;
        Assert.NotSame(before, placed);
        Assert.Equal([second, "a"], placed.Owners(model));

        membership.Take(Entries(model), T0.AddSeconds(4));
        Assert.NotSame(placed, membership.Table);
        Assert.False(membership.Table.IsLoaded(second, "other"));
        Assert.Equal([second, "a"], membership.Table.Owners(model));

        membership.Take(Entries(), T0.AddSeconds(6));
        Assert.Equal(placement, membership.Table.Owners(model));
    }

    private static RoutingMembership Membership() =>
        new(new RoutingSettings(new ModelCacheRoutingOptions { Configuration = "localhost:1" }), TimeProvider.System, NullLogger<RoutingMembership>.Instance);

    private static FleetMember Placing(string id, FleetMemberModel[] models, string[] placed) => new()
    {
        InstanceId = id,
        Host = "h",
        Address = $"http://{id}.test:8080",
        Replicas = 2,
        ReportedAt = T0,
        PlacedModels = placed,
        Models = models,
    };
}
