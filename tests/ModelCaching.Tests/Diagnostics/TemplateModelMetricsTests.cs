using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Diagnostics;

/// <summary>
/// The observable instruments read a provider's template models through the provider (no registration per name, issue
/// 18): each template model that loaded has its series, tagged as a registered model's, beside the registered models';
/// none is left once the provider is disposed.
/// </summary>
public sealed class TemplateModelMetricsTests
{
    private const int Tenants = 50;

    [Fact]
    public async Task Every_loaded_template_model_and_the_registered_model_have_their_series_until_the_provider_is_disposed()
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddModelCache()
            .AddModel<FakeModel>("scorer", m => m.FromSource(new MutableSource("v1")).UseLoader(new FakeLoader()))
            .AddModelTemplate<FakeModel>("tenants", static t => t.FromFactory(static (name, _) => ValueTask.FromResult(new FakeModel(name)), "tenant factory"), static o => o.NamePrefix = "tenant-");
        ServiceProvider built = services.BuildServiceProvider();
        IModelCacheProvider caches = built.GetRequiredService<IModelCacheProvider>();
        using var requests = new MetricCollector<long>(built.GetRequiredService<IMeterFactory>(), ModelCacheDiagnostics.MeterName, "modelcache.requests");
        using var states = new MetricCollector<long>(built.GetRequiredService<IMeterFactory>(), ModelCacheDiagnostics.MeterName, "modelcache.model.count");
        using var generations = new MetricCollector<long>(built.GetRequiredService<IMeterFactory>(), ModelCacheDiagnostics.MeterName, "modelcache.model.generation");

        await caches.GetCache<FakeModel>("scorer").GetModelAsync();
        for (int i = 0; i < Tenants; i++)
        {
            IModelCache<FakeModel> tenant = caches.GetCache<FakeModel>($"tenant-{i}");
            await tenant.GetModelAsync(); // a miss
            for (int hit = 0; hit < i % 3; hit++)
            {
                _ = tenant.GetModel();
            }
        }

        requests.RecordObservableInstruments();
        states.RecordObservableInstruments();
        generations.RecordObservableInstruments();
        IReadOnlyList<CollectedMeasurement<long>> observed = requests.GetMeasurementSnapshot();
        for (int i = 0; i < Tenants; i++)
        {
            var name = new KeyValuePair<string, object?>("modelcache.model.name", $"tenant-{i}");
            Assert.Equal(i % 3, observed.Single(m => m.ContainsTags(name, new("modelcache.request.result", "hit"))).Value);
            Assert.Equal(1, observed.Single(m => m.ContainsTags(name, new("modelcache.request.result", "miss"))).Value);
            Assert.Equal(1, states.GetMeasurementSnapshot().Single(m => m.ContainsTags(name, new("modelcache.model.state", "ready"))).Value);
            Assert.True(generations.GetMeasurementSnapshot().Single(m => m.ContainsTags(name)).ContainsTags(new KeyValuePair<string, object?>("modelcache.model.version", "g1")));
        }

        Assert.Single(observed, static m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.model.name", "scorer"), new("modelcache.request.result", "miss")));
        Assert.Equal((Tenants + 1) * 2, observed.Count);

        await built.DisposeAsync();
        requests.Clear();
        requests.RecordObservableInstruments();
        Assert.Empty(requests.GetMeasurementSnapshot());
    }
}
