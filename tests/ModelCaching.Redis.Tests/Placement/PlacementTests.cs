using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Placement;

/// <summary>
/// The instance side of placement on a real redis-server: an instance loads only the placed names it owns, refuses the
/// others before any load (naming the owners), moves only the names whose owners changed when an instance joins or
/// leaves, and hands a name over (the new owner warms it before the old one lets it go).
/// </summary>
public sealed class PlacementTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task AnOwner_LoadsAPlacedName_AndANonOwnerRefusesItBeforeAnyLoad_NamingTheOwners()
    {
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 3, names: 20);
        for (int i = 0; i < 20; i++)
        {
            string name = PlacedFleet.Name(i);
            IReadOnlyList<string> owners = fleet.Owners(name);
            Assert.Equal(2, owners.Count);
            foreach (PlacedHost host in fleet.Hosts)
            {
                if (owners.Contains(host.InstanceId))
                {
                    Assert.Equal($"{name} v1", await host.GetAsync(name));
                    continue;
                }

                ModelNotOwnedException refused = Assert.Throws<ModelNotOwnedException>(() => host.Provider.GetCache<string>(name));
                Assert.Equal(name, refused.ModelName);
                Assert.Equal(host.InstanceId, refused.InstanceId);
                Assert.Equal(owners, refused.Owners);
                Assert.Equal(owners.Select(id => fleet.Host(id).Address), refused.OwnerAddresses);
                Assert.Contains(owners[0], refused.Message);
                Assert.IsAssignableFrom<ModelLoadException>(refused);
                Assert.DoesNotContain(name, host.Provider.Names); // no cache was made, nothing is kept
                Assert.Equal(0, host.LoadsOf(name));
            }
        }

        Assert.All(fleet.Hosts, h => Assert.Empty(h.LoadsNotOwned));
    }

    [Fact]
    public async Task WithNoMembershipView_RedisNeverReached_AnInstanceServesEveryName_AndLogsThatItFailsOpen()
    {
        using var directory = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(directory.Path, "tenant-x.txt"), "tenant-x v1");
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);

        // A port nothing listens on: the instance starts, and never reaches Redis.
        await using PlacedHost alone = await PlacedHost.StartAsync("127.0.0.1:1,abortConnect=false,connectTimeout=200", "nowhere", "alone", time, directory.Path);

        Assert.Equal("tenant-x v1", await alone.GetAsync("tenant-x"));
        Assert.Null(alone.Placement.View);
        Assert.Contains(alone.Logs.GetSnapshot(), r => r.Id.Id == 400 && r.Message.Contains("serves every placed model", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AJoin_MovesOnlyTheNamesTheNewInstanceGains_AndItWarmsThemBeforeTheOldOwnersReleaseThem()
    {
        const int names = 60;
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 3, names: names);
        var before = new Dictionary<string, IReadOnlyList<string>>();
        for (int i = 0; i < names; i++)
        {
            string name = PlacedFleet.Name(i);
            before[name] = fleet.Owners(name);
            foreach (string owner in before[name])
            {
                await fleet.Host(owner).GetAsync(name);
            }
        }

        // Each old owner, as it releases a name, checks that every new owner serves it already.
        var releasedTooEarly = new System.Collections.Concurrent.ConcurrentQueue<string>();
        PlacedFleet fleetRef = fleet;
        foreach (PlacedHost host in fleet.Hosts)
        {
            foreach (string name in before.Keys.Where(n => before[n].Contains(host.InstanceId)))
            {
                IModelCache cache = host.Provider.GetCache(name);
                cache.Unloaded += (_, _) =>
                {
                    foreach (string owner in fleetRef.Owners(name))
                    {
                        if (!fleetRef.Host(owner).IsServing(name))
                        {
                            releasedTooEarly.Enqueue($"{host.InstanceId} released {name} before {owner} served it");
                        }
                    }
                };
            }
        }

        int loadsBefore = fleet.Hosts.Sum(h => h.TotalLoads);
        PlacedHost joined = await fleet.JoinAsync();
        await fleet.SettleAsync();
        await fleet.SettleAsync(); // the old owners see the new one's entry listing what it warmed

        int moved = 0;
        for (int i = 0; i < names; i++)
        {
            string name = PlacedFleet.Name(i);
            IReadOnlyList<string> owners = fleet.Owners(name);
            bool changed = !owners.ToHashSet().SetEquals(before[name]);
            moved += changed ? 1 : 0;
            Assert.Equal(changed, owners.Contains(joined.InstanceId)); // only names the new instance gains move
            foreach (PlacedHost host in fleet.Hosts)
            {
                Assert.Equal(owners.Contains(host.InstanceId), host.IsServing(name)); // loaded exactly on its owners
            }
        }

        Assert.Empty(releasedTooEarly);
        Assert.InRange(moved, 1, names - 1);
        Assert.Equal(moved, fleet.Hosts.Sum(h => h.TotalLoads) - loadsBefore); // one warm per moved name, no other load
        Assert.All(fleet.Hosts, h => Assert.Empty(h.LoadsNotOwned));
    }

    [Fact]
    public async Task ALeave_MovesOnlyTheLeaversNames_ToTheirNewOwners()
    {
        const int names = 40;
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 4, names: names);
        var before = new Dictionary<string, IReadOnlyList<string>>();
        for (int i = 0; i < names; i++)
        {
            string name = PlacedFleet.Name(i);
            before[name] = fleet.Owners(name);
            await fleet.Host(before[name][0]).GetAsync(name);
        }

        PlacedHost leaving = fleet[1];
        await fleet.LeaveAsync(leaving);
        await fleet.SettleAsync();
        for (int i = 0; i < names; i++)
        {
            string name = PlacedFleet.Name(i);
            IReadOnlyList<string> owners = fleet.Owners(name);
            if (!before[name].Contains(leaving.InstanceId))
            {
                Assert.Equal(before[name].Order(), owners.Order()); // untouched
            }
            else
            {
                Assert.Contains(before[name].Single(id => id != leaving.InstanceId), owners);
            }

            // A request on each owner succeeds; every other instance refuses.
            foreach (PlacedHost host in fleet.Hosts)
            {
                if (owners.Contains(host.InstanceId))
                {
                    Assert.Equal($"{name} v1", await host.GetAsync(name));
                }
                else
                {
                    Assert.Throws<ModelNotOwnedException>(() => host.Provider.GetCache<string>(name).GetModel());
                }
            }
        }
    }

    [Fact]
    public async Task ANameLost_ThatNoNewOwnerLoads_IsReleasedAfterTheGrace_AndALeaseTakenBeforeKeepsItsModel()
    {
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: 40, replicas: 1);
        PlacedHost first = fleet[0];

        // A name first owns now; once a third instance takes it over, the new owner's file is gone (it cannot warm it).
        string name = Enumerable.Range(0, 40).Select(PlacedFleet.Name)
            .First(n => fleet.Owners(n)[0] == first.InstanceId && FleetPlacement.Owners(n, [.. fleet.Ids, "instance-2"], 1)[0] == "instance-2");
        Assert.Equal($"{name} v1", await first.GetAsync(name));
        using ModelLease<string> lease = await first.Provider.GetCache<string>(name).AcquireAsync();
        File.Delete(Path.Combine(fleet.Directory, name + ".txt"));

        PlacedHost joined = await fleet.JoinAsync();
        await fleet.SettleAsync();
        Assert.False(joined.IsServing(name));
        Assert.True(first.IsServing(name)); // kept within the grace: its owner does not have it
        Assert.Equal($"{name} v1", await first.GetAsync(name));

        fleet.Time.Advance(first.Placement.Grace + TimeSpan.FromSeconds(1));
        await fleet.SettleAsync();
        Assert.False(first.IsServing(name));
        Assert.Equal($"{name} v1", lease.Model); // the lease still holds its generation
        ModelNotOwnedException refused = await Assert.ThrowsAsync<ModelNotOwnedException>(() => first.GetAsync(name));
        Assert.Equal([joined.InstanceId], refused.Owners);
        Assert.Contains(first.Logs.GetSnapshot(), r => r.Id.Id == 404 && r.Message.Contains(name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ManyConcurrentCallers_OnAColdOwnedName_AllGetTheModel_FromOneLoad()
    {
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 3, names: 10);
        string name = PlacedFleet.Name(3);
        PlacedHost owner = fleet.Host(fleet.Owners(name)[0]);
        int failures = 0;
        using var start = new ManualResetEventSlim();
        Task[] callers = [.. Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            start.Wait(Eventually.Timeout);
            try
            {
                string model = i % 2 == 0 ? owner.Provider.GetCache<string>(name).GetModel() : await owner.GetAsync(name);
                if (model != $"{name} v1")
                {
                    Interlocked.Increment(ref failures);
                }
            }
            catch (Exception)
            {
                Interlocked.Increment(ref failures);
            }
        }))];
        start.Set();
        await Task.WhenAll(callers).WaitAsync(Eventually.Timeout);

        Assert.Equal(0, failures);
        Assert.Equal(1, owner.LoadsOf(name));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("tenant-\u0000\u001b[31m")]
    [InlineData("")]
    public async Task AHostileName_IsRejectedAsAName_OnEveryInstance_AndLeavesNothingBehind(string hostile)
    {
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: 1);
        foreach (PlacedHost host in fleet.Hosts)
        {
            Assert.Throws<InvalidModelNameException>(() => host.Provider.GetCache<string>(hostile));
            Assert.Empty(host.Provider.Names);
        }
    }

    [Fact]
    public async Task MadeUpNames_OnANonOwnerAndAnOwner_AreRefusedOrNotFound_AndKeepNothing()
    {
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: 1, replicas: 1);
        string longName = "tenant-" + new string('a', 120);
        foreach (string name in Enumerable.Range(0, 200).Select(i => $"tenant-nobody-{i}").Append(longName))
        {
            PlacedHost owner = fleet.Host(fleet.Owners(name)[0]);
            PlacedHost other = fleet.Hosts.Single(h => h != owner);
            Assert.Throws<ModelNotOwnedException>(() => other.Provider.GetCache<string>(name));
            await Assert.ThrowsAsync<TemplateModelNotFoundException>(() => owner.GetAsync(name));
        }

        await fleet.SettleAsync();
        Assert.All(fleet.Hosts, h => Assert.Empty(h.Provider.Names));
        Assert.All(fleet.Hosts, h => Assert.Empty(h.Placement.Loaded()));
        FleetStatus status = await fleet[0].Fleet.GetStatusAsync();
        Assert.All(status.Members, m => Assert.Empty(m.Models));
    }

    [Fact]
    public async Task TheMembershipEntry_ListsThePlacedModelsLoaded_AndTheBudgetsMemory_AndFleetStatusShowsThem()
    {
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: 12, budgetBytes: 1_000_000);
        var expected = new Dictionary<string, List<string>>();
        foreach (PlacedHost host in fleet.Hosts)
        {
            expected[host.InstanceId] = [];
        }

        for (int i = 0; i < 12; i++)
        {
            string name = PlacedFleet.Name(i);
            string owner = fleet.Owners(name)[0];
            await fleet.Host(owner).GetAsync(name);
            expected[owner].Add(name);
        }

        await fleet.SettleAsync();
        FleetStatus status = await fleet[0].Fleet.GetStatusAsync();
        Assert.Equal(2, status.Members.Count);
        foreach (FleetMember member in status.Members)
        {
            Assert.Equal(expected[member.InstanceId].Order(StringComparer.Ordinal), member.PlacedModels);
            Assert.Equal(1_000_000, member.MemoryBudgetBytes);
            Assert.Equal(expected[member.InstanceId].Sum(n => (long)$"{n} v1".Length), member.MemoryUsedBytes);
            Assert.Equal(2, member.Replicas);
            Assert.Equal(fleet.Host(member.InstanceId).Address, member.Address);
            Assert.All(member.Models, m => Assert.Contains(m.Name, expected[member.InstanceId])); // loaded ones only
        }
    }

    [Fact]
    public async Task WhenRedisIsKilledMidHandoff_InstancesKeepTheirLastView_AndConvergeWhenItIsBack()
    {
        const int names = 30;
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: names);
        for (int i = 0; i < names; i++)
        {
            string name = PlacedFleet.Name(i);
            foreach (string owner in fleet.Owners(name))
            {
                await fleet.Host(owner).GetAsync(name);
            }
        }

        // A third instance joins and reads the membership once; then Redis dies before the others see it.
        PlacedHost joined = await fleet.JoinAsync();
        await joined.RoundAsync();
        redis.Server.Kill();
        try
        {
            // Requests keep working on each instance's last view: the old owners serve (with two instances, both own all).
            for (int i = 0; i < names; i++)
            {
                string name = PlacedFleet.Name(i);
                Assert.Equal($"{name} v1", await fleet[0].GetAsync(name));
                Assert.Equal($"{name} v1", await fleet[1].GetAsync(name));

                // The new instance answers by its own view (three members): what it owns loads without Redis.
                if (joined.Placement.View!.Owns(name))
                {
                    Assert.Equal($"{name} v1", await joined.GetAsync(name));
                }
                else
                {
                    await Assert.ThrowsAsync<ModelNotOwnedException>(() => joined.GetAsync(name));
                }
            }
        }
        finally
        {
            await redis.Server.StartAgainAsync();
        }

        // Redis came back empty: each instance writes its entry again, and the fleet converges on the three.
        await Eventually.TrueAsync(() => fleet.Hosts.All(h => h.Agent.IsConnected), "every instance reconnected");
        await fleet.SettleAsync();
        await fleet.SettleAsync();
        fleet.Time.Advance(fleet[0].Placement.Grace + TimeSpan.FromSeconds(1));
        await fleet.SettleAsync();
        for (int i = 0; i < names; i++)
        {
            string name = PlacedFleet.Name(i);
            IReadOnlyList<string> owners = fleet.Owners(name);
            Assert.All(fleet.Hosts, h => Assert.Equal(owners.Contains(h.InstanceId), h.IsServing(name)));
        }

        Assert.All(fleet.Hosts, h => Assert.Empty(h.LoadsNotOwned));
    }
}
