using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using ModelCaching.Tests.Support;
using ModelCaching.Tests.Templates;

namespace ModelCaching.Tests.Budget;

/// <summary>What the metrics say about a budget: bytes in use against the limit, evictions by reason, load waits and queues.</summary>
public sealed class BudgetMetricsTests : IDisposable
{
    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task TheBudgetsLimitAndUsage_EvictionsByReason_AndLoadWaits_AreReported()
    {
        foreach (string name in (string[])["a", "b", "c"])
        {
            _files.Write(name, bytes: 100);
        }

        ServiceCollection services = _files.Services(templateOptions: o => o.MemoryBudgetBytes = 250);
        services.AddMetrics();
        await using ServiceProvider provider = services.BuildServiceProvider();
        IMeterFactory meters = provider.GetRequiredService<IMeterFactory>();
        using var limit = new MetricCollector<long>(meters, ModelCacheDiagnostics.MeterName, "modelcache.memory.limit");
        using var usage = new MetricCollector<long>(meters, ModelCacheDiagnostics.MeterName, "modelcache.memory.usage");
        using var unloads = new MetricCollector<long>(meters, ModelCacheDiagnostics.MeterName, "modelcache.unloads");
        using var waits = new MetricCollector<double>(meters, ModelCacheDiagnostics.MeterName, "modelcache.load.wait.duration");
        using var queues = new MetricCollector<long>(meters, ModelCacheDiagnostics.MeterName, "modelcache.load.queue.length");
        IModelCacheProvider models = provider.GetRequiredService<IModelCacheProvider>();
        for (int i = 0; i < 10; i++)
        {
            models.GetCache<FakeModel>("a").GetModel();
        }

        models.GetCache<FakeModel>("b").GetModel();
        models.GetCache<FakeModel>("c").GetModel();

        limit.RecordObservableInstruments();
        usage.RecordObservableInstruments();
        queues.RecordObservableInstruments();
        Assert.Equal(250, Assert.Single(limit.GetMeasurementSnapshot()).Value);
        Assert.True(limit.LastMeasurement!.ContainsTags(new KeyValuePair<string, object?>("modelcache.budget.scope", "tenants")));
        Assert.Equal(200, usage.GetMeasurementSnapshot().Single(m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.memory.state", "resident"))).Value);
        Assert.Equal(0, usage.GetMeasurementSnapshot().Single(m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.memory.state", "draining"))).Value);
        CollectedMeasurement<long> eviction = Assert.Single(unloads.GetMeasurementSnapshot());
        Assert.True(eviction.ContainsTags(new KeyValuePair<string, object?>("modelcache.unload.reason", "memory_budget"), new("modelcache.model.name", "b")));
        Assert.Contains(waits.GetMeasurementSnapshot(), m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.load.waited_for", "slot"), new("modelcache.model.name", "c")));
        Assert.Contains(waits.GetMeasurementSnapshot(), m => m.ContainsTags(new KeyValuePair<string, object?>("modelcache.load.waited_for", "memory"), new("modelcache.model.name", "c")));
        Assert.All(queues.GetMeasurementSnapshot(), static m => Assert.Equal(0, m.Value));
        Assert.Equal(2, queues.GetMeasurementSnapshot().Count);
    }
}
