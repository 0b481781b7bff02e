using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Diagnostics;

/// <summary>The fleet's instruments, each instance's own, summed over the instances as a dashboard would: the view of GET /fleet.</summary>
public sealed class FleetMetricsTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Model = FleetHost.ModelName;

    [Fact]
    public async Task SummedOverInstances_TheGaugesSayWhoServesWhichVersion_AndWhoTheCanariesAre()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await fleet.Control.PublishAsync(Model, "one"u8.ToArray(), new FleetPublishOptions { VersionId = "one" });
        await fleet.WaitForVersionAsync("one");
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Serving: [{ VersionId: "one", Instances: 3 }] }], "three instances report one");

        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.5 });
        IReadOnlyList<string> canaries = (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!.Canaries;
        await Task.WhenAll(fleet.Hosts.Where(h => canaries.Contains(h.InstanceId)).Select(h => h.WaitForVersionAsync("two")));
        await Task.WhenAll(fleet.Hosts.Select(h => h.ReconcileNowAsync()));

        var serving = new Dictionary<string, int>();
        int canaryCount = 0;
        foreach (FleetHost host in fleet.Hosts)
        {
            Assert.Equal(1, Single(host, "modelcache.fleet.connected").Value);
            CollectedMeasurement<int> served = Single(host, "modelcache.fleet.serving");
            Assert.Equal(Model, served.Tags[FleetMetricTags.Model]);
            string version = (string)served.Tags[FleetMetricTags.Version]!;
            serving[version] = serving.GetValueOrDefault(version) + served.Value;
            Assert.Equal(0, Single(host, "modelcache.fleet.failing").Value);
            int canary = Single(host, "modelcache.fleet.canary").Value;
            Assert.Equal(canaries.Contains(host.InstanceId) ? 1 : 0, canary);
            canaryCount += canary;
        }

        Assert.Equal(new Dictionary<string, int> { ["two"] = 2, ["one"] = 1 }, serving);
        Assert.Equal(2, canaryCount);
    }

    [Fact]
    public async Task TheCanaryThatStopsARollout_CountsIt()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await fleet.Control.PublishAsync(Model, "good"u8.ToArray(), new FleetPublishOptions { VersionId = "good" });
        await fleet.WaitForVersionAsync("good");
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Serving: [{ VersionId: "good", Instances: 3 }] }], "three instances report good");
        var stops = fleet.Hosts.ToDictionary(h => h.InstanceId, h => new MetricCollector<long>(h.Services.GetRequiredService<IMeterFactory>(), "ModelCaching", "modelcache.fleet.rollouts.stopped"));

        await fleet.Control.PublishAsync(Model, "bad v2"u8.ToArray(), new FleetPublishOptions { VersionId = "bad", CanaryShare = 0.25 });
        FleetStatus status = await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Desired.Rollout.Stage: FleetRolloutStage.Stopped }], "the rollout stopped");

        // Counted just after the transaction that the status read may see first.
        string stoppedBy = status.Models[0].Desired!.ChangedBy;
        await Eventually.TrueAsync(() => stops[stoppedBy].GetMeasurementSnapshot().Sum(m => m.Value) == 1, "the canary counted its stop");
        Assert.Equal(Model, stops[stoppedBy].LastMeasurement!.Tags[FleetMetricTags.Model]);
        foreach ((string id, MetricCollector<long> collector) in stops)
        {
            Assert.Equal(id == stoppedBy ? 1 : 0, collector.GetMeasurementSnapshot().Sum(m => m.Value));
            collector.Dispose();
        }
    }

    private static CollectedMeasurement<int> Single(FleetHost host, string instrument)
    {
        using var collector = new MetricCollector<int>(host.Services.GetRequiredService<IMeterFactory>(), "ModelCaching", instrument);
        collector.RecordObservableInstruments();
        return Assert.Single(collector.GetMeasurementSnapshot());
    }

    private static class FleetMetricTags
    {
        public const string Model = "modelcache.model";
        public const string Version = "modelcache.fleet.version";
    }
}
