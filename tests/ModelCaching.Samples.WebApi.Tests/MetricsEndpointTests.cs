using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

/// <summary>
/// Runs alone: OpenTelemetry's listener picks meters by name process-wide, so another test's app running at the
/// same time would add its own <c>ModelCaching</c> measurements to this app's scrape. One app per process, as in
/// production, gives exact values.
/// </summary>
[CollectionDefinition(nameof(MetricsEndpointTests), DisableParallelization = true)]
[Collection(nameof(MetricsEndpointTests))]
public sealed class MetricsEndpointTests(Xunit.Abstractions.ITestOutputHelper output)
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

    [Fact]
    public async Task Metrics_AfterManyPredictsForTenantsThatDoNotExist_NameNoneOfThem_AndARealTenantStillGetsItsSeries()
    {
        const int Ghosts = 2_000;
        await using SampleServer server = await SampleServer.StartAsync(builder => builder.Logging.AddFakeLogging().SetMinimumLevel(LogLevel.Information));
        FakeLogCollector logs = server.App.Services.GetFakeLogCollector();
        await server.WhenServingAsync(SampleServer.V1Sha256);
        int linesBefore = await MetricsLinesAsync(server);

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < Ghosts; i++)
        {
            using HttpResponseMessage response = await server.Client.PostAsync($"/tenants/ghost{i}/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using HttpResponseMessage acme = await server.Client.PostAsync("/tenants/acme/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));
        Assert.Equal(HttpStatusCode.OK, acme.StatusCode);
        using HttpResponseMessage metrics = await server.SendAsync(HttpMethod.Get, "/metrics");
        string text = await metrics.Content.ReadAsStringAsync();
        int linesAfter = text.Split('\n').Length;
        stopwatch.Stop();
        string[] ghostLogLines = [.. logs.GetSnapshot().Where(static r => r.Level >= LogLevel.Warning && r.Message.Contains("ghost", StringComparison.Ordinal)).Select(static r => $"{r.Category} {r.Id}: {r.Message}")];

        output.WriteLine($"{Ghosts:N0} made-up tenants and one real one in {stopwatch.Elapsed.TotalSeconds:F1} s: /metrics {linesBefore} -> {linesAfter} lines, {ghostLogLines.Length} warning log lines naming them");
        Assert.DoesNotContain("ghost", text, StringComparison.Ordinal);
        Assert.DoesNotContain("otel_metric_overflow", text, StringComparison.Ordinal);
        Assert.Contains("modelcache_loads_total{otel_scope_name=\"ModelCaching\",modelcache_load_outcome=\"success\",modelcache_load_reason=\"first_use\",modelcache_model_name=\"tenant-acme\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("modelcache_loads_total{otel_scope_name=\"ModelCaching\",modelcache_load_outcome=\"failure\",modelcache_load_reason=\"first_use\",modelcache_model_name=\"(unknown)\",modelcache_model_template=\"tenants\"} " + Ghosts, text, StringComparison.Ordinal);
        Assert.True(linesAfter - linesBefore < 200, $"/metrics grew from {linesBefore} to {linesAfter} lines after {Ghosts:N0} made-up tenants and one real one.");
        // At most one line per template per 10 seconds (docs/observability.md), each counting the ones not written.
        Assert.True(ghostLogLines.Length <= 1 + (int)(stopwatch.Elapsed.TotalSeconds / 10), $"{ghostLogLines.Length} lines in {stopwatch.Elapsed.TotalSeconds:F0} s:{Environment.NewLine}" + string.Join(Environment.NewLine, ghostLogLines));
    }

    private static async Task<int> MetricsLinesAsync(SampleServer server)
    {
        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/metrics");
        return (await response.Content.ReadAsStringAsync()).Split('\n').Length;
    }
}
