using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Diagnostics;

/// <summary>Placement's instruments: owned models per instance, requests refused as not owned, names warmed and handed off.</summary>
public sealed class PlacementMetricsTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task EachInstance_CountsWhatItOwns_WhatItRefuses_AndWhatItWarmsAndHandsOff()
    {
        const int names = 30;
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 2, names: names, replicas: 1);
        var refused = fleet.Hosts.ToDictionary(h => h.InstanceId, h => Collector(h, "modelcache.fleet.placement.refused"));
        var handedOff = fleet.Hosts.ToDictionary(h => h.InstanceId, h => Collector(h, "modelcache.fleet.placement.handed_off"));
        var owned = new Dictionary<string, int>();
        for (int i = 0; i < names; i++)
        {
            string name = PlacedFleet.Name(i);
            PlacedHost owner = fleet.Host(fleet.Owners(name)[0]);
            await owner.GetAsync(name);
            owned[owner.InstanceId] = owned.GetValueOrDefault(owner.InstanceId) + 1;
            PlacedHost other = fleet.Hosts.Single(h => h != owner);
            Assert.Throws<ModelNotOwnedException>(() => other.Provider.GetCache<string>(name));
        }

        foreach (PlacedHost host in fleet.Hosts)
        {
            Assert.Equal(owned[host.InstanceId], Owned(host));
            int refusedHere = names - owned[host.InstanceId];
            Assert.Equal(refusedHere, refused[host.InstanceId].GetMeasurementSnapshot().Sum(m => m.Value));
            Assert.DoesNotContain(refused[host.InstanceId].GetMeasurementSnapshot(), m => m.Tags.ContainsKey("modelcache.model")); // bounded: no name tag
        }

        // A third instance takes about a third of the names: it warms them, and their old owners hand them off.
        PlacedHost joined = await fleet.JoinAsync();
        using MetricCollector<long> warmed = Collector(joined, "modelcache.fleet.placement.warmed");
        await fleet.SettleAsync();
        await fleet.SettleAsync();
        int moved = Enumerable.Range(0, names).Count(i => fleet.Owners(PlacedFleet.Name(i))[0] == joined.InstanceId);
        Assert.InRange(moved, 1, names - 1);
        Assert.Equal(moved, warmed.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(moved, handedOff.Values.Sum(c => c.GetMeasurementSnapshot().Sum(m => m.Value)));
        Assert.Equal(names, fleet.Hosts.Sum(Owned));
        foreach (MetricCollector<long> collector in refused.Values.Concat(handedOff.Values))
        {
            collector.Dispose();
        }
    }

    private static MetricCollector<long> Collector(PlacedHost host, string instrument) =>
        new(host.Services.GetRequiredService<IMeterFactory>(), "ModelCaching", instrument);

    private static int Owned(PlacedHost host)
    {
        using var collector = new MetricCollector<int>(host.Services.GetRequiredService<IMeterFactory>(), "ModelCaching", "modelcache.fleet.placement.owned");
        collector.RecordObservableInstruments();
        return Assert.Single(collector.GetMeasurementSnapshot()).Value;
    }
}
