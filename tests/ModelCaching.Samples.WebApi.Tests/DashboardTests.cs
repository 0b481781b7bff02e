using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

/// <summary>
/// docs/dashboards/modelcaching.json queries only metrics and labels the sample exports. Runs with the metrics tests
/// (one app at a time): OpenTelemetry's listener picks meters by name process-wide.
/// </summary>
[Collection(nameof(MetricsEndpointTests))]
public sealed partial class DashboardTests
{
    private static readonly string DashboardPath = Path.Combine(AppContext.BaseDirectory, "dashboards", "modelcaching.json");

    [Fact]
    public async Task Dashboard_EveryMetricAndLabelItQueries_IsInTheSamplesMetrics()
    {
        string scrape = await ScrapeAfterTrafficAndAFailedReloadAsync();
        string[] queries = DashboardQueries();

        // Every modelcache_* token of a query is a metric the scrape has a sample of, or a label it carries.
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string query in queries)
        {
            foreach (Match token in Token().Matches(query))
            {
                string name = token.Value;
                bool isMetric = Regex.IsMatch(scrape, $"^{Regex.Escape(name)}[{{ ]", RegexOptions.Multiline);
                bool isLabel = scrape.Contains($"{name}=\"", StringComparison.Ordinal) || scrape.Contains($",{name}=\"", StringComparison.Ordinal);
                if (!isMetric && !isLabel)
                {
                    missing.Add(name);
                }
            }
        }

        Assert.True(queries.Length >= 12, $"The dashboard has only {queries.Length} queries.");
        Assert.True(missing.Count == 0, "The dashboard queries names /metrics does not have: " + string.Join(", ", missing) + "\n\n/metrics:\n" + scrape);
    }

    [Fact]
    public async Task Dashboard_ShowsTheRequiredPanels()
    {
        using JsonDocument dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(DashboardPath));
        string[] titles = [.. dashboard.RootElement.GetProperty("panels").EnumerateArray().Select(static p => p.GetProperty("title").GetString()!)];
        string all = string.Join("\n", DashboardQueries());

        Assert.Contains("Degraded models", titles);
        Assert.Contains("Loads by outcome", titles);
        Assert.Contains("Generation and version per model", titles);
        Assert.Contains("modelcache_model_state=\"degraded\"", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_lease_count", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_pool_engine_count", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_pool_waits_total", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_load_duration_seconds_bucket", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_request_result=\"hit\"", all, StringComparison.Ordinal);
        Assert.Equal("DS_PROMETHEUS", dashboard.RootElement.GetProperty("__inputs")[0].GetProperty("name").GetString());
    }

    private static string[] DashboardQueries()
    {
        using JsonDocument dashboard = JsonDocument.Parse(File.ReadAllText(DashboardPath));
        var queries = new List<string>();
        foreach (JsonElement panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            foreach (JsonElement target in panel.GetProperty("targets").EnumerateArray())
            {
                queries.Add(target.GetProperty("expr").GetString()!);
            }
        }

        foreach (JsonElement variable in dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            queries.Add(variable.GetProperty("definition").GetString()!);
        }

        return [.. queries];
    }

    /// <summary>Predictions (hits, pool engines), then a reload of a corrupt file (a failure, Degraded), then a scrape.</summary>
    private static async Task<string> ScrapeAfterTrafficAndAFailedReloadAsync()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);
        await TaxiTrips.PredictAsync(server.Client);
        await TaxiTrips.PredictAsync(server.Client);

        string corrupt = Path.Combine(server.ModelDirectory, "corrupt.tmp");
        await File.WriteAllBytesAsync(corrupt, [0x50, 0x4B, 0x03, 0x04, 0x00, 0x01, 0x02]);
        server.PublishAtomically(corrupt);
        await Assert.ThrowsAsync<ModelLoadException>(() => server.Cache.ReloadAsync());
        Assert.Equal(ModelCacheState.Degraded, server.Cache.State);

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    [GeneratedRegex("(?<![A-Za-z0-9_])(modelcache_[a-z0-9_]+|error_type)")]
    private static partial Regex Token();
}
