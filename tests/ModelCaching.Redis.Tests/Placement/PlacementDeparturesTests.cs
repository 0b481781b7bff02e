using ModelCaching.Redis.Instance;

namespace ModelCaching.Redis.Tests.Placement;

/// <summary>
/// The decision behind warming after a member dies or leaves (<see cref="PlacementDepartures"/>): which names a member
/// that left the view had loaded, which of them this instance owns now, and when (its absence confirmed a window later,
/// two heartbeats in the instance, and not before the members' time to live after a reconnect, so a view read while
/// Redis comes back empty warms nothing).
/// </summary>
public sealed class PlacementDeparturesTests
{
    // The confirmation window (the instance passes two heartbeats) and the members' time to live (the wait after a reconnect).
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan T0 = TimeSpan.FromHours(1); // monotonic: the placement's elapsed time
    private static readonly string[] Names = [.. Enumerable.Range(0, 60).Select(i => $"tenant-{i}")];

    [Fact]
    public void AMemberThatLeaves_HasTheNamesItReportedThatThisInstanceOwnsNow_ToWarm_OnceItIsStillAbsentTheWindowLater()
    {
        // a (this instance), b and c own one replica each; b has every name it owns loaded.
        string[] onB = [.. Names.Where(n => FleetPlacement.Owners(n, ["a", "b", "c"], 1)[0] == "b")];
        PlacementView all = View("a", 1, Member("b", 1, onB), Member("c", 1));
        PlacementView withoutB = View("a", 1, Member("c", 1));
        var departures = new PlacementDepartures(Window, TimeToLive);
        Assert.Empty(departures.Next(null, all, T0));

        Assert.Empty(departures.Next(all, withoutB, T0)); // its entry just expired: not yet
        Assert.Equal(1, departures.Pending);
        Assert.Empty(departures.Next(withoutB, withoutB, T0 + Window - TimeSpan.FromMilliseconds(1)));

        List<(string Name, string From)> toWarm = departures.Next(withoutB, withoutB, T0 + Window);

        string[] expected = [.. onB.Where(withoutB.Owns)];
        Assert.InRange(expected.Length, 1, onB.Length - 1); // about half of b's names come here, the rest go to c
        Assert.Equal(expected.Order(StringComparer.Ordinal), toWarm.Select(w => w.Name).Order(StringComparer.Ordinal));
        Assert.All(toWarm, w => Assert.Equal("b", w.From));
        Assert.Equal(0, departures.Pending); // nothing kept once decided
        Assert.Empty(departures.Next(withoutB, withoutB, T0 + (Window * 5)));
    }

    [Fact]
    public void AnInstanceThatSeesItselfAlone_WhileRedisComesBackEmpty_WarmsNothing_WhenTheOthersWriteTheirEntriesWithinTheWindow()
    {
        PlacementView all = View("a", 2, Member("b", 2, Names), Member("c", 2, Names));
        PlacementView alone = View("a", 2); // the first read after the reconnect: only its own entry is written yet
        var departures = new PlacementDepartures(Window, TimeToLive);
        departures.Next(null, all, T0);

        Assert.Empty(departures.Next(all, alone, T0));
        Assert.Equal(2, departures.Pending);
        Assert.Empty(departures.Next(alone, View("a", 2, Member("b", 2, Names)), T0 + TimeSpan.FromSeconds(2)));
        Assert.Empty(departures.Next(View("a", 2, Member("b", 2, Names)), all, T0 + TimeSpan.FromSeconds(4)));

        Assert.Equal(0, departures.Pending);
        Assert.Empty(departures.Next(all, all, T0 + (Window * 3)));
    }

    [Fact]
    public void WithTwoReplicas_ANameItsSurvivingCoOwnerHasLoaded_IsStillWarmedOnItsNewOwner()
    {
        // Owners {b, c} before b dies, {a, c} after: c serves it, and a becomes an owner the router sends requests to.
        string name = Names.First(n => FleetPlacement.Owners(n, ["a", "b", "c"], 2).Order().SequenceEqual(["b", "c"]));
        PlacementView all = View("a", 2, Member("b", 2, name), Member("c", 2, name));
        PlacementView withoutB = View("a", 2, Member("c", 2, name));
        var departures = new PlacementDepartures(Window, TimeToLive);
        departures.Next(null, all, T0);
        departures.Next(all, withoutB, T0);

        Assert.Equal([(name, "b")], departures.Next(withoutB, withoutB, T0 + Window));
        Assert.Equal(["a", "c"], withoutB.Owners(name).Order()); // so on at most R instances, both owners
    }

    [Fact]
    public void OwnershipIsTakenFromTheViewThatConfirms_SoANameAJoinerTookMeanwhileIsNotWarmedHere()
    {
        string[] onB = [.. Names.Where(n => FleetPlacement.Owners(n, ["a", "b"], 1)[0] == "b")];
        PlacementView both = View("a", 1, Member("b", 1, onB));
        PlacementView alone = View("a", 1);
        PlacementView withJoiner = View("a", 1, Member("d", 1));
        var departures = new PlacementDepartures(Window, TimeToLive);
        departures.Next(null, both, T0);
        departures.Next(both, alone, T0);

        List<(string Name, string From)> toWarm = departures.Next(alone, withJoiner, T0 + Window);

        Assert.Equal(onB.Where(withJoiner.Owns).Order(StringComparer.Ordinal), toWarm.Select(w => w.Name).Order(StringComparer.Ordinal));
        Assert.InRange(toWarm.Count, 1, onB.Length - 1); // the joiner's share stays cold (it never saw b)
    }

    [Fact]
    public void AMemberThatComesBackAndLeavesAgain_WaitsTheFullWindowFromItsNewDeparture()
    {
        PlacementView both = View("a", 1, Member("b", 1, Names));
        PlacementView alone = View("a", 1);
        var departures = new PlacementDepartures(Window, TimeToLive);
        departures.Next(null, both, T0);
        departures.Next(both, alone, T0);
        departures.Next(alone, both, T0 + TimeSpan.FromSeconds(5));

        Assert.Empty(departures.Next(both, alone, T0 + TimeSpan.FromSeconds(8)));
        Assert.Empty(departures.Next(alone, alone, T0 + Window)); // the window after the first departure, not the second
        Assert.Equal(Names.Order(StringComparer.Ordinal), departures.Next(alone, alone, T0 + TimeSpan.FromSeconds(18)).Select(w => w.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AfterThisInstanceReconnected_NoDepartureIsConfirmedUntilTheMembersTimeToLivePassed_AndOneStillAbsentThenIs()
    {
        // Redis restarted empty: b and c reconnect on their own back-off; c is slower than the window, b is dead.
        PlacementView all = View("a", 1, Member("b", 1, Names), Member("c", 1, Names));
        PlacementView alone = View("a", 1);
        PlacementView withC = View("a", 1, Member("c", 1, Names));
        var departures = new PlacementDepartures(Window, TimeToLive);
        departures.Next(null, all, T0);
        departures.Reconnected(T0 + TimeSpan.FromSeconds(1));

        Assert.Empty(departures.Next(all, alone, T0 + TimeSpan.FromSeconds(2)));
        Assert.Empty(departures.Next(alone, alone, T0 + TimeSpan.FromSeconds(2) + (Window * 2))); // past the window: still settling
        Assert.Empty(departures.Next(alone, withC, T0 + TimeSpan.FromSeconds(25))); // c is back: it was never gone
        Assert.Equal(1, departures.Pending);

        List<(string Name, string From)> toWarm = departures.Next(withC, withC, T0 + TimeSpan.FromSeconds(1) + TimeToLive);

        Assert.NotEmpty(toWarm);
        Assert.All(toWarm, w => Assert.Equal("b", w.From));
        Assert.Equal(Names.Where(withC.Owns).Order(StringComparer.Ordinal), toWarm.Select(w => w.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ReconnectsThatKeepDeferringTheConfirmation_DoNotPileDeparturesUp_AndAStaleOneIsDroppedNotWarmed()
    {
        PlacementView all = View("a", 1, Member("b", 1, Names));
        PlacementView alone = View("a", 1);
        var departures = new PlacementDepartures(Window, TimeToLive);
        departures.Next(null, all, T0);
        departures.Next(all, alone, T0);

        // The connection flaps every 20 s: each reconnect defers every confirmation by the time to live.
        for (int s = 20; s <= 60; s += 20)
        {
            departures.Reconnected(T0 + TimeSpan.FromSeconds(s));
            Assert.Empty(departures.Next(alone, alone, T0 + TimeSpan.FromSeconds(s + 1)));
        }

        Assert.Equal(0, departures.Pending); // older than the window and the settle together: dropped
        Assert.Empty(departures.Next(alone, alone, T0 + TimeSpan.FromSeconds(200)));
    }

    [Fact]
    public void OneReconnectWithinTheWindow_DefersTheConfirmation_ButDoesNotDropTheDeparture()
    {
        PlacementView all = View("a", 1, Member("b", 1, Names));
        PlacementView alone = View("a", 1);
        var departures = new PlacementDepartures(Window, TimeToLive);
        departures.Next(null, all, T0);
        departures.Next(all, alone, T0);
        departures.Reconnected(T0 + TimeSpan.FromSeconds(16)); // settles at T0 + 46 s, past the window and the settle from T0

        Assert.Empty(departures.Next(alone, alone, T0 + TimeSpan.FromSeconds(40)));
        Assert.Equal(1, departures.Pending);

        Assert.Equal(Names.Where(alone.Owns).Order(StringComparer.Ordinal), departures.Next(alone, alone, T0 + TimeSpan.FromSeconds(50)).Select(w => w.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AMemberThatReportedNothing_OrPlacesNothing_IsNotKept()
    {
        PlacementView before = View("a", 1, Member("b", 1), Member("publisher", 0, Names));
        PlacementView after = View("a", 1);
        var departures = new PlacementDepartures(Window, TimeToLive);
        departures.Next(null, before, T0);

        Assert.Empty(departures.Next(before, after, T0));
        Assert.Equal(0, departures.Pending);
        Assert.Empty(departures.Next(after, after, T0 + Window));
    }

    private static PlacementView View(string self, int replicas, params FleetMember[] others) =>
        new([.. others, Member(self, replicas)], self, selfAddress: null, replicas);

    private static FleetMember Member(string id, int replicas, params string[] placed) => new()
    {
        InstanceId = id,
        Host = "host",
        Replicas = replicas,
        PlacedModels = [.. placed.Order(StringComparer.Ordinal)],
        Models = [],
    };
}
