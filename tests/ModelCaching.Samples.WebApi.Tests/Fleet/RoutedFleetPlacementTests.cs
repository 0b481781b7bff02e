using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using ModelCaching.FleetHarness;
using ModelCaching.Redis;
using ModelCaching.Samples.WebApi.Tests.Support;
using Xunit.Abstractions;

namespace ModelCaching.Samples.WebApi.Tests.Fleet;

/// <summary>
/// Issue 22 with placement on, on real parts: redis-server, three sample API instances that place the tenants template
/// (<c>ModelCache:Fleet:Placement:Templates:0=tenants</c>, 2 replicas) and the router (samples/ModelCaching.Samples.Router
/// with ModelCaching.Routing), each its own OS process on loopback, and 1,000 tenant models whose fares name their tenant.
/// Each test starts its own fleet, so the order does not matter; the waits are bounded waits on what the processes say.
/// </summary>
[Collection(SampleProcessCollection.Name)]
public sealed class RoutedFleetPlacementTests(ITestOutputHelper output) : IDisposable
{
    private const int Replicas = 2;

    /// <summary>A bound for a loaded 2-core machine, not a wait: a passing check returns as soon as it holds.</summary>
    private static readonly TimeSpan SignalBound = TimeSpan.FromSeconds(45);

    private readonly string _tenants = Directory.CreateTempSubdirectory("modelcaching-placed-tenants-").FullName;

    [Fact]
    public async Task ZipfLoopThroughTheRouter_EveryAnswerIsTheTenantsOwnModel_FromAnOwner_AndNoNameIsLoadedOnMoreThanTwoInstances()
    {
        await using RoutedFleet fleet = await StartAsync();
        IReadOnlyList<string> ids = fleet.LiveInstanceIds();

        int[] trace = ZipfTrace.Create(1000, 300);
        IReadOnlyList<TraceRequest> requests;
        await using (var loop = new TraceLoop(trace, _ => fleet.Router.Client, concurrency: 4))
        {
            requests = await loop.CompleteAsync();
        }

        TraceRequest? failed = requests.FirstOrDefault(r => !r.Succeeded);
        Assert.True(failed is null, $"{requests.Count(r => !r.Succeeded)} of {requests.Count} requests failed; the first: {failed?.Problem}");
        foreach (TraceRequest request in requests)
        {
            IReadOnlyList<string> owners = FleetPlacement.Owners(TenantModels.ModelName(request.Tenant), ids, Replicas);
            Assert.True(owners.Contains(request.AnsweredBy!), $"{TenantModels.Id(request.Tenant)} was answered by {request.AnsweredBy}, not by an owner ({string.Join(", ", owners)})");
        }

        InstanceStats[] stats = await Task.WhenAll(fleet.Instances.Select(InstanceStats.ReadAsync));
        foreach (InstanceStats instance in stats)
        {
            output.WriteLine($"{instance.Id}: {instance.Loaded.Count} tenants loaded, {instance.Loads} loads in {instance.LoadSeconds:F1} s, resident {instance.ResidentBytes:N0} B");
            foreach (string name in instance.Loaded)
            {
                Assert.Contains(instance.Id, FleetPlacement.Owners(name, ids, Replicas));
            }
        }

        int mostCopies = stats.SelectMany(s => s.Loaded).GroupBy(n => n).Max(g => g.Count());
        output.WriteLine($"{trace.Distinct().Count()} distinct tenants asked for, {stats.Sum(s => s.Loads)} loads across the fleet, at most {mostCopies} copies of a name");
        Assert.InRange(mostCopies, 1, Replicas);
        Assert.True(stats.Sum(s => s.Loads) <= Replicas * trace.Distinct().Count(), "a name was loaded more often than it has owners");
    }

    [Fact]
    public async Task AnOwnerKilledDuringTheLoop_ItsNamesAreAnsweredByTheOtherOwner_NoRequestFailsOnceTheRouterKnows_AndItsNamesGetANewSecondOwner()
    {
        await using RoutedFleet fleet = await StartAsync();
        IReadOnlyList<string> before = fleet.LiveInstanceIds();
        int[] trace = ZipfTrace.Create(1000, 2000);
        string victimId = FleetPlacement.Owners(TenantModels.ModelName(0), before, Replicas)[0]; // an owner of the hottest tenant
        ServiceProcess victim = fleet.Instances.Single(i => i.Name == victimId);
        HashSet<int> victimTenants = [.. Enumerable.Range(0, 1000).Where(t => FleetPlacement.Owners(TenantModels.ModelName(t), before, Replicas).Contains(victimId))];

        // The victim's hottest tenants, and for each the live instance that does not own it yet: it refuses them (421).
        int[] hotVictimTenants = [.. trace.Where(victimTenants.Contains).GroupBy(t => t).OrderByDescending(g => g.Count()).Take(5).Select(g => g.Key)];
        Dictionary<int, ServiceProcess> secondOwner = hotVictimTenants.ToDictionary(
            t => t,
            t => fleet.Instances.Single(i => !FleetPlacement.Owners(TenantModels.ModelName(t), before, Replicas).Contains(i.Name)));
        foreach ((int tenant, ServiceProcess instance) in secondOwner)
        {
            (int status, _) = await PredictAsync(instance, tenant);
            Assert.Equal(421, status);
        }

        await using var loop = new TraceLoop(trace, _ => fleet.Router.Client, concurrency: 4, repeat: true);
        await loop.WaitForMoreAsync(100, SignalBound);

        victim.Kill(); // SIGKILL: no goodbye to the fleet; its membership entry expires after MemberTimeToLive (3 s here)
        TimeSpan killedAt = loop.Elapsed; // once it has exited: requests sent before may still have been answered by it
        ServiceProcess survivor = fleet.Instances.First(i => !i.HasExited);
        await UntilAsync(async () => (await MembersAsync(survivor)).Count == before.Count - 1, $"the membership drops {victimId}");
        TimeSpan leftAt = loop.Elapsed;
        IReadOnlyList<string> after = fleet.LiveInstanceIds();

        // The router reads the membership every RefreshInterval (1 s here); after that, requests go to live owners only.
        await loop.WaitForMoreAsync(300, SignalBound);
        IReadOnlyList<TraceRequest> requests = await loop.StopAsync();

        TraceRequest[] afterKill = [.. requests.Where(r => r.At >= killedAt)];
        TraceRequest[] failures = [.. afterKill.Where(r => !r.Succeeded)];
        TimeSpan noticed = failures.Length == 0 ? TimeSpan.Zero : failures.Max(r => r.At + r.Latency) - killedAt;
        output.WriteLine($"killed {victimId} at {killedAt.TotalSeconds:F1} s; the membership dropped it {(leftAt - killedAt).TotalMilliseconds:F0} ms later; "
            + $"{afterKill.Length} requests after the kill, {failures.Length} failed{(failures.Length == 0 ? "" : $" (the last one ended {noticed.TotalMilliseconds:F0} ms after the kill)")}; "
            + $"{afterKill.Count(r => victimTenants.Contains(r.Tenant))} of them for {victimId}'s tenants");
        TimeSpan routerKnows = leftAt - killedAt + TimeSpan.FromSeconds(3); // the membership's drop plus a refresh and a margin
        TraceRequest? lateFailure = failures.FirstOrDefault(r => r.At - killedAt > routerKnows);
        Assert.True(lateFailure is null, $"a request failed {(lateFailure?.At - killedAt)?.TotalMilliseconds:F0} ms after the kill: {lateFailure?.Problem}");

        // Every answer for the victim's tenants after the kill came from the tenant's own model on a live owner.
        foreach (TraceRequest request in afterKill.Where(r => r.Succeeded && victimTenants.Contains(r.Tenant)))
        {
            Assert.NotEqual(victimId, request.AnsweredBy);
        }

        // Each of the victim's hot tenants has a new second owner: the instance that refused it before the kill now owns it
        // (by the membership without the victim) and answers it from the tenant's own model, within a bounded time (its
        // view of the membership moves on its heartbeat). Whether it had warmed the model before its first request is shown.
        foreach ((int tenant, ServiceProcess instance) in secondOwner)
        {
            IReadOnlyList<string> owners = FleetPlacement.Owners(TenantModels.ModelName(tenant), after, Replicas);
            Assert.Contains(instance.Name, owners);
            Assert.DoesNotContain(victimId, owners);
        }

        InstanceStats[] warmed = await Task.WhenAll(secondOwner.Values.Distinct().Select(InstanceStats.ReadAsync));
        output.WriteLine($"{secondOwner.Count(p => warmed.Single(w => w.Id == p.Value.Name).Loaded.Contains(TenantModels.ModelName(p.Key)))} of {secondOwner.Count} hot tenants of {victimId} were loaded on their new second owner before it was asked for them");
        await UntilAsync(
            async () =>
            {
                foreach ((int tenant, ServiceProcess instance) in secondOwner)
                {
                    (int status, float fare) = await PredictAsync(instance, tenant);
                    if (status != 200)
                    {
                        return false;
                    }

                    Assert.Equal(tenant, TenantModels.TenantOf(fare));
                }

                return true;
            },
            $"the new second owners answer {victimId}'s hottest tenants ({string.Join(", ", hotVictimTenants.Select(TenantModels.Id))}) themselves");
    }

    [Fact]
    public async Task AnInstanceJoins_AboutOneInNOfTheOwnershipsMove_AndItLoadsOnlyNamesItNowOwns()
    {
        await using RoutedFleet fleet = await StartAsync();
        IReadOnlyList<string> before = await MembersAsync(fleet.Instances[0]);
        Assert.Equal(3, before.Count);

        ServiceProcess joined = await fleet.AddInstanceAsync();
        await UntilAsync(async () => (await MembersAsync(fleet.Instances[0])).Count == 4, $"the membership lists {joined.Name}");
        IReadOnlyList<string> after = await MembersAsync(fleet.Instances[0]);
        await fleet.UntilTheRouterKnowsEveryInstanceAsync();

        // Ownership moved, by the membership the instances and the router read: (name, owner) pairs that changed.
        int moved = 0;
        int namesMoved = 0;
        for (int t = 0; t < 1000; t++)
        {
            string name = TenantModels.ModelName(t);
            IReadOnlyList<string> was = FleetPlacement.Owners(name, before, Replicas);
            IReadOnlyList<string> now = FleetPlacement.Owners(name, after, Replicas);
            int changed = now.Count(o => !was.Contains(o));
            moved += changed;
            namesMoved += changed > 0 ? 1 : 0;
        }

        double share = moved / (double)(1000 * Replicas);
        output.WriteLine($"{joined.Name} joined: {moved} of {1000 * Replicas} ownerships moved ({share:P1}; 1/N = {1.0 / after.Count:P1}), {namesMoved} of 1,000 names changed an owner");
        Assert.InRange(share, 0.75 / after.Count, 1.25 / after.Count);
        Assert.All(after.Except(before), id => Assert.Equal(joined.Name, id));

        // Traffic through the router after the join: the new instance answers and loads only names it owns.
        int[] trace = ZipfTrace.Create(1000, 200, seed: ZipfTrace.DefaultSeed + 1);
        IReadOnlyList<TraceRequest> requests;
        await using (var loop = new TraceLoop(trace, _ => fleet.Router.Client, concurrency: 4))
        {
            requests = await loop.CompleteAsync();
        }

        TraceRequest? failed = requests.FirstOrDefault(r => !r.Succeeded);
        Assert.True(failed is null, $"{requests.Count(r => !r.Succeeded)} requests failed; the first: {failed?.Problem}");
        InstanceStats joinedStats = await InstanceStats.ReadAsync(joined);
        output.WriteLine($"{joined.Name} answered {requests.Count(r => r.AnsweredBy == joined.Name)} of {requests.Count} requests and has {joinedStats.Loaded.Count} tenants loaded");
        Assert.All(joinedStats.Loaded, name => Assert.Contains(joined.Name, FleetPlacement.Owners(name, after, Replicas)));
        Assert.Contains(requests, r => r.AnsweredBy == joined.Name);
    }

    public void Dispose() => Directory.Delete(_tenants, recursive: true);

    private async Task<RoutedFleet> StartAsync()
    {
        RoutedFleetFixture.WriteTenants(_tenants);
        var clock = Stopwatch.StartNew();
        RoutedFleet fleet = await RoutedFleet.StartAsync(RoutedFleetFixture.Options(_tenants, placement: true, Replicas));
        output.WriteLine($"redis-server, 3 instances and the router started in {clock.ElapsedMilliseconds} ms");
        return fleet;
    }

    /// <summary>The live members' instance ids, from <c>GET /fleet</c> on <paramref name="instance"/> (what Redis holds).</summary>
    private static async Task<IReadOnlyList<string>> MembersAsync(ServiceProcess instance)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/fleet");
        request.Headers.Add("X-Api-Key", RoutedFleet.AdminKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using HttpResponseMessage response = await instance.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        JsonElement fleet = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return [.. fleet.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("instanceId").GetString()!)];
    }

    /// <summary><c>POST /tenants/{id}/predict</c> straight to <paramref name="instance"/>: the status, and the fare when 200.</summary>
    private static async Task<(int Status, float Fare)> PredictAsync(ServiceProcess instance, int tenant)
    {
        using var body = new StringContent(TenantModels.KnownTrip, System.Text.Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await instance.Client.PostAsync($"/tenants/{TenantModels.Id(tenant)}/predict", body);
        string text = await response.Content.ReadAsStringAsync();
        return response.StatusCode == System.Net.HttpStatusCode.OK
            ? (200, JsonDocument.Parse(text).RootElement.GetProperty("fareAmount").GetSingle())
            : ((int)response.StatusCode, float.NaN);
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        using var bound = new CancellationTokenSource(SignalBound);
        while (!await condition())
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {SignalBound} waiting for: {what}.");
            }

            await Task.Delay(50, CancellationToken.None);
        }
    }
}
