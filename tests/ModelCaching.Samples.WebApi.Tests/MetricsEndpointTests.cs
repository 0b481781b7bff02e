using System.Net;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

/// <summary>
/// Runs alone: OpenTelemetry's listener picks meters by name process-wide, so another test's app running at the
/// same time would add its own <c>ModelCaching</c> measurements to this app's scrape. One app per process, as in
/// production, gives exact values.
/// </summary>
[CollectionDefinition(nameof(MetricsEndpointTests), DisableParallelization = true)]
[Collection(nameof(MetricsEndpointTests))]
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_ExportTheModelCacheInstrumentsInPrometheusFormat()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);
        await TaxiTrips.PredictAsync(server.Client);

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/metrics");
        string text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("modelcache_loads_total{otel_scope_name=\"ModelCaching\",modelcache_load_outcome=\"success\",modelcache_load_reason=\"startup\",modelcache_model_name=\"taxi-fare\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("modelcache_requests_total{otel_scope_name=\"ModelCaching\",modelcache_model_name=\"taxi-fare\",modelcache_request_result=\"hit\"}", text, StringComparison.Ordinal);
        Assert.Contains("modelcache_load_duration_seconds_count{otel_scope_name=\"ModelCaching\",modelcache_load_outcome=\"success\",modelcache_model_name=\"taxi-fare\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("modelcache_model_count{otel_scope_name=\"ModelCaching\",modelcache_model_name=\"taxi-fare\",modelcache_model_state=\"ready\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("modelcache_model_generation{otel_scope_name=\"ModelCaching\",modelcache_model_name=\"taxi-fare\",modelcache_model_version=\"" + SampleServer.V1Sha256 + "\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("modelcache_model_size_bytes{otel_scope_name=\"ModelCaching\",modelcache_model_name=\"taxi-fare\"} 11836", text, StringComparison.Ordinal);

        // The pool's engine and the lease it holds on its generation (docs/observability.md).
        Assert.Contains("modelcache_pool_engine_count{otel_scope_name=\"ModelCaching\",modelcache_model_name=\"taxi-fare\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("modelcache_lease_count{otel_scope_name=\"ModelCaching\",modelcache_model_name=\"taxi-fare\"} 1", text, StringComparison.Ordinal);
    }
}
