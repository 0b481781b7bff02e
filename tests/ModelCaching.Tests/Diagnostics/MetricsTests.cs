using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Diagnostics;

/// <summary>The meter "ModelCaching", observed through the application's <see cref="IMeterFactory"/> (a MeterListener underneath).</summary>
public sealed class MetricsTests : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly IMeterFactory _meters;
    private readonly MutableSource _source = new("v1");

    public MetricsTests()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddModelCache().AddModel<FakeModel>("scorer", m => m.FromSource(_source).UseLoader(new FakeLoader()).Configure(o => o.RetryBaseDelay = TimeSpan.Zero));
        _provider = services.BuildServiceProvider();
        _meters = _provider.GetRequiredService<IMeterFactory>();
    }

    private IModelCache<FakeModel> Cache => _provider.GetRequiredKeyedService<IModelCache<FakeModel>>("scorer");

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    private MetricCollector<T> Collect<T>(string instrument)
        where T : struct => new(_meters, ModelCacheDiagnostics.MeterName, instrument);

    [Fact]
    public async Task Loads_AreCountedByOutcomeAndReason_WithTheirDuration()
    {
        using MetricCollector<long> loads = Collect<long>("modelcache.loads");
        using MetricCollector<double> duration = Collect<double>("modelcache.load.duration");

        await Cache.GetModelAsync();
        await Cache.ReloadAsync(); // same bytes: unchanged

        IReadOnlyList<CollectedMeasurement<long>> measurements = loads.GetMeasurementSnapshot();
        Assert.Equal(2, measurements.Count);
        Assert.True(measurements[0].ContainsTags(new KeyValuePair<string, object?>("modelcache.model.name", "scorer"), new("modelcache.load.outcome", "success"), new("modelcache.load.reason", "first_use")));
        Assert.True(measurements[1].ContainsTags(new KeyValuePair<string, object?>("modelcache.load.outcome", "unchanged"), new("modelcache.load.reason", "explicit")));
        CollectedMeasurement<double> timed = Assert.Single(duration.GetMeasurementSnapshot()); // an unchanged check is not a load
        Assert.True(timed.ContainsTags(new KeyValuePair<string, object?>("modelcache.load.outcome", "success")));
        Assert.True(timed.Value >= 0);
    }

    [Fact]
    public async Task FailedLoads_AreCountedWithTheirErrorType()
    {
        using MetricCollector<long> failures = Collect<long>("modelcache.load.failures");
        using MetricCollector<long> loads = Collect<long>("modelcache.loads");
        await Cache.GetModelAsync();
        _source.Content = "bad bytes";

        await Assert.ThrowsAsync<ModelLoadException>(() => Cache.ReloadAsync());

        CollectedMeasurement<long> failure = Assert.Single(failures.GetMeasurementSnapshot());
        Assert.Equal(1, failure.Value);
        Assert.True(failure.ContainsTags(new KeyValuePair<string, object?>("modelcache.model.name", "scorer"), new("error.type", typeof(InvalidDataException).FullName)));
        Assert.Contains(loads.GetMeasurementSnapshot(), m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.load.outcome", "failure")));
    }

    [Fact]
    public async Task HitsMissesLeasesAndLoadedModels_AreObserved()
    {
        using MetricCollector<long> requests = Collect<long>("modelcache.requests");
        using MetricCollector<long> leases = Collect<long>("modelcache.lease.count");
        using MetricCollector<long> loaded = Collect<long>("modelcache.model.count");
        using MetricCollector<long> generation = Collect<long>("modelcache.model.generation");

        await Cache.GetModelAsync(); // miss
        Cache.GetModel();            // hit
        Cache.GetModel();            // hit
        using ModelLease<FakeModel> lease = Cache.Acquire(); // hit

        requests.RecordObservableInstruments();
        leases.RecordObservableInstruments();
        loaded.RecordObservableInstruments();
        generation.RecordObservableInstruments();

        IReadOnlyList<CollectedMeasurement<long>> observed = requests.GetMeasurementSnapshot();
        Assert.Equal(3, observed.Single(m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.request.result", "hit"))).Value);
        Assert.Equal(1, observed.Single(m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.request.result", "miss"))).Value);
        Assert.Equal(1, leases.LastMeasurement!.Value);
        Assert.Equal(1, loaded.GetMeasurementSnapshot().Single(m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.model.state", "ready"))).Value);
        Assert.Equal(0, loaded.GetMeasurementSnapshot().Single(m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.model.state", "degraded"))).Value);
        Assert.Equal(1, generation.LastMeasurement!.Value);
        Assert.True(generation.LastMeasurement.ContainsTags(new KeyValuePair<string, object?>("modelcache.model.version", Cache.Version!.Id)));
    }

    [Fact]
    public async Task Unloads_AreCountedByReason()
    {
        using MetricCollector<long> unloads = Collect<long>("modelcache.unloads");
        using MetricCollector<long> loaded = Collect<long>("modelcache.model.count");
        await Cache.GetModelAsync();

        Cache.Invalidate();

        Assert.True(Assert.Single(unloads.GetMeasurementSnapshot()).ContainsTags(new KeyValuePair<string, object?>("modelcache.unload.reason", "invalidated")));
        loaded.RecordObservableInstruments();
        Assert.Equal(0, loaded.GetMeasurementSnapshot().Single(m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.model.state", "ready"))).Value);
        Assert.Equal(1, loaded.GetMeasurementSnapshot().Single(m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.model.state", "unloaded"))).Value);
    }

    [Fact]
    public async Task ACacheFromAnotherServiceProvider_IsNotReportedHere()
    {
        using MetricCollector<long> loads = Collect<long>("modelcache.loads");
        var other = new ServiceCollection();
        other.AddMetrics();
        other.AddModelCache().AddModel<FakeModel>("scorer", m => m.FromSource(new MutableSource("x")).UseLoader(new FakeLoader()));
        await using ServiceProvider otherProvider = other.BuildServiceProvider();

        await otherProvider.GetRequiredKeyedService<IModelCache<FakeModel>>("scorer").GetModelAsync();

        Assert.Empty(loads.GetMeasurementSnapshot());
    }
}
