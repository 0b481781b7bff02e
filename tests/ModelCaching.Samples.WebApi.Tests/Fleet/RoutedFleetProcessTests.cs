using ModelCaching.FleetHarness;
using ModelCaching.Samples.WebApi.Tests.Support;
using Xunit.Abstractions;

namespace ModelCaching.Samples.WebApi.Tests.Fleet;

/// <summary>
/// Issue 22 on real parts: redis-server, three sample API instances and the router (samples/ModelCaching.Samples.Router,
/// YARP), each its own OS process on loopback, and 1,000 tenant models made by the test whose fares name their tenant.
/// Requests follow a Zipf trace through the router; every answer is checked against the tenant it was for.
/// </summary>
[Collection(SampleProcessCollection.Name)]
public sealed class RoutedFleetProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _tenants = Directory.CreateTempSubdirectory("modelcaching-routed-tenants-").FullName;

    [Fact]
    public async Task WithoutPlacement_AZipfLoopThroughTheRouter_AnswersFromEachTenantsOwnModel_AndTheHotTenantsLoadOnEveryInstance()
    {
        RoutedFleetFixture.WriteTenants(_tenants);
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(RoutedFleetFixture.Options(_tenants, placement: false));

        int[] trace = ZipfTrace.Create(1000, 300);
        IReadOnlyList<TraceRequest> requests;
        await using (var loop = new TraceLoop(trace, _ => fleet.Router.Client, concurrency: 4))
        {
            requests = await loop.CompleteAsync();
        }

        InstanceStats[] stats = await Task.WhenAll(fleet.Instances.Select(InstanceStats.ReadAsync));
        foreach (InstanceStats instance in stats)
        {
            output.WriteLine($"{instance.Id}: {instance.Loaded.Count} tenants loaded, {instance.Loads} loads in {instance.LoadSeconds:F1} s, resident {instance.ResidentBytes:N0} B");
        }

        TraceRequest? failed = requests.FirstOrDefault(r => !r.Succeeded);
        Assert.True(failed is null, $"{requests.Count(r => !r.Succeeded)} of {requests.Count} requests failed; the first: {failed?.Problem}");
        Assert.Equal(trace.Length, requests.Count);

        // Round-robin: every instance answers, and the hottest tenants end up loaded on all three (what placement avoids).
        Assert.Equal(["i0", "i1", "i2"], requests.Select(r => r.AnsweredBy).Distinct().Order());
        Assert.All(stats, s => Assert.Contains(TenantModels.ModelName(0), s.Loaded));
        Assert.True(stats.Sum(s => s.Loads) > trace.Distinct().Count(), "without placement, some tenants load on more than one instance");
    }

    public void Dispose() => Directory.Delete(_tenants, recursive: true);
}
