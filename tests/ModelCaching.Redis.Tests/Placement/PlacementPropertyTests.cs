using FsCheck;
using FsCheck.Fluent;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Placement;

/// <summary>
/// A model-based test of placement on real instances and a real redis-server: random sequences of joins, leaves,
/// deaths (an instance killed without leaving; its entry expires), requests (on any instance, for any of a few names),
/// heartbeats (every instance writes its entry and reads the membership; the handoff's loads end) and time passing
/// beyond the grace. After each step the invariants hold: a request for a name the instance owns by its view never
/// fails; one it does not own is refused naming the owners (or served from what it still holds during a handoff); no
/// instance ever loads a name its view says another owns; once a heartbeat settled the handoff, each name is loaded only
/// on its owners (so on at most R instances); and once time passed two heartbeats after a death, every name the dead member
/// last reported loaded is loaded on each of its live owners that saw it die.
/// </summary>
public sealed class PlacementPropertyTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const int Names = 8;
    private const int MaxInstances = 4;

    [Fact]
    public void Placement_KeepsItsInvariants_OverRandomJoinsLeavesRequestsAndHeartbeats()
    {
        Arbitrary<int[]> sequences = Arb.From(
            Gen.Choose(0, int.MaxValue).Select(static seed =>
            {
                var random = new Random(seed);
                return Enumerable.Range(0, random.Next(4, 14)).Select(_ => random.Next(0, 1000)).ToArray();
            }),
            static ops => Enumerable.Range(0, ops.Length).Select(skip => ops.Where((_, i) => i != skip).ToArray()));
        Config config = Config.QuickThrowOnFailure.WithMaxTest(40).WithReplay(new Replay(new Rnd(22UL, 0x9E3779B97F4A7C15UL), null));
        Prop.ForAll(sequences, ops =>
        {
            string? broken = Task.Run(() => RunAsync(ops)).GetAwaiter().GetResult();
            Assert.True(broken is null, $"{broken} after [{string.Join(", ", ops)}]");
        }).Check(config);
    }

    private async Task<string?> RunAsync(int[] ops)
    {
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: Names);
        var trace = new List<string>();
        var deaths = new List<Dictionary<string, string[]>>();
        foreach (int op in ops)
        {
            string? broken = await StepAsync(fleet, op, trace, deaths) ?? Always(fleet);
            if (broken is not null)
            {
                return $"{broken}; trace: {string.Join(" → ", trace)}";
            }
        }

        return null;
    }

    // deaths: per death not yet followed by time passing, what each survivor read in the dead member's last entry.
    private static async Task<string?> StepAsync(PlacedFleet fleet, int op, List<string> trace, List<Dictionary<string, string[]>> deaths)
    {
        int a = op / 10, b = op / 100;
        switch (op % 10)
        {
            case 0 or 1 when fleet.Hosts.Count < MaxInstances:
            {
                Dictionary<PlacedHost, long> rounds = fleet.Hosts.ToDictionary(h => h, h => h.Placement.Rounds);
                PlacedHost joined = await fleet.JoinAsync();
                trace.Add($"join {joined.InstanceId}");

                // Its first round announces it; every other instance reads the membership on that message.
                await Eventually.TrueAsync(() => joined.Placement.Rounds > 0 && rounds.All(r => r.Key.Placement.Rounds > r.Value), "every instance read the join");
                return null;
            }

            case 2 when fleet.Hosts.Count > 1:
            {
                PlacedHost leaving = fleet[a % fleet.Hosts.Count];
                trace.Add($"leave {leaving.InstanceId}");
                Dictionary<PlacedHost, long> rounds = fleet.Hosts.Where(h => h != leaving).ToDictionary(h => h, h => h.Placement.Rounds);
                await fleet.LeaveAsync(leaving);
                await Eventually.TrueAsync(() => rounds.All(r => r.Key.Placement.Rounds > r.Value), "every instance read the leave");
                return null;
            }

            case 3 or 4:
                trace.Add("heartbeat");
                await fleet.SettleAsync();
                await fleet.SettleAsync();
                return Settled(fleet);

            case 5:
            {
                trace.Add("grace passes");
                fleet.Time.Advance(fleet[0].Placement.Grace + TimeSpan.FromSeconds(1));
                await fleet.SettleAsync();
                string? broken = DeadWarmed(fleet, deaths);
                deaths.Clear();
                return broken;
            }

            case 6 when fleet.Hosts.Count > 1:
            {
                PlacedHost dying = fleet[a % fleet.Hosts.Count];
                trace.Add($"die {dying.InstanceId}");
                await fleet.KillAsync(dying);

                // Each survivor reads its last entry (two rounds: the second starts after the kill), then Redis expires it.
                foreach (PlacedHost host in fleet.Hosts)
                {
                    await host.RoundAsync();
                    await host.RoundAsync();
                }

                deaths.Add(fleet.Hosts.ToDictionary(h => h.InstanceId, h => h.Placement.View!.PlacedOn(dying.InstanceId).ToArray()));
                await fleet.ExpireAsync(dying);
                foreach (PlacedHost host in fleet.Hosts)
                {
                    await Eventually.TrueAsync(
                        async () =>
                        {
                            await host.RoundAsync();
                            return !host.Placement.View!.Contains(dying.InstanceId);
                        },
                        $"{host.InstanceId} read the death of {dying.InstanceId}");
                }

                return null;
            }

            default:
                return await RequestAsync(fleet, fleet[a % fleet.Hosts.Count], PlacedFleet.Name(b % Names), trace);
        }
    }

    private static async Task<string?> RequestAsync(PlacedFleet fleet, PlacedHost host, string name, List<string> trace)
    {
        trace.Add($"{host.InstanceId} asks {name}");
        ModelCaching.Redis.Instance.PlacementView? view = host.Placement.View;
        bool owned = view is null || view.Owns(name);
        bool held = host.IsServing(name);
        try
        {
            string model = await host.GetAsync(name);
            if (model != $"{name} v1")
            {
                return $"{host.InstanceId} answered {name} with '{model}'";
            }

            return owned || held || host.Placement.View != view ? null : $"{host.InstanceId} served {name}, which it neither owns nor held";
        }
        catch (ModelNotOwnedException refused)
        {
            if (host.Placement.View != view)
            {
                return null; // the view changed during the request (a background read): either answer is right
            }

            if (owned)
            {
                return $"{host.InstanceId} refused {name}, which it owns";
            }

            return refused.Owners.SequenceEqual(view!.Owners(name)) ? null : $"{host.InstanceId} refused {name} naming [{string.Join(", ", refused.Owners)}], not its owners [{string.Join(", ", view.Owners(name))}]";
        }
        catch (Exception ex)
        {
            return $"{host.InstanceId} failed {name}: {ex.GetType().Name}: {ex.Message}";
        }
    }

    // After every step: no instance loaded a name its view gave to others.
    private static string? Always(PlacedFleet fleet) =>
        fleet.Hosts.FirstOrDefault(h => h.LoadsNotOwned.Count > 0) is { } host ? $"{host.InstanceId} loaded {string.Join(", ", host.LoadsNotOwned)} without owning it" : null;

    // After time passed two heartbeats since members died (the departures are confirmed) and a settle: every name a dead member
    // last reported loaded, as each survivor read its entry, is loaded on that survivor if it owns the name now. An instance
    // that joined after the death never saw the member leave, so it is not asked (a name it owns stays cold until requested).
    private static string? DeadWarmed(PlacedFleet fleet, List<Dictionary<string, string[]>> deaths)
    {
        foreach (Dictionary<string, string[]> seenBy in deaths)
        {
            foreach ((string survivor, string[] names) in seenBy)
            {
                if (fleet.Hosts.FirstOrDefault(h => h.InstanceId == survivor) is not { } host)
                {
                    continue; // it died or left since
                }

                foreach (string name in names)
                {
                    if (fleet.Owners(name).Contains(survivor) && !host.IsServing(name))
                    {
                        return $"{survivor} owns {name}, which a dead member had loaded, and did not warm it";
                    }
                }
            }
        }

        return null;
    }

    // After a heartbeat that settled the handoff: every view is the live membership, and each name is loaded only on its owners.
    private static string? Settled(PlacedFleet fleet)
    {
        IReadOnlyList<string> ids = [.. fleet.Ids.Order(StringComparer.Ordinal)];
        foreach (PlacedHost host in fleet.Hosts)
        {
            if (host.Placement.View is not { } view || !view.Members.SequenceEqual(ids))
            {
                return $"{host.InstanceId} sees [{string.Join(", ", host.Placement.View?.Members ?? [])}], not [{string.Join(", ", ids)}]";
            }
        }

        for (int i = 0; i < Names; i++)
        {
            string name = PlacedFleet.Name(i);
            IReadOnlyList<string> owners = fleet.Owners(name);
            string[] holders = [.. fleet.Hosts.Where(h => h.IsServing(name)).Select(h => h.InstanceId)];
            if (holders.Length > owners.Count || holders.Any(h => !owners.Contains(h)))
            {
                return $"{name} is loaded on [{string.Join(", ", holders)}], its owners are [{string.Join(", ", owners)}]";
            }
        }

        return null;
    }
}
