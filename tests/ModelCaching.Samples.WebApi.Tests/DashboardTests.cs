using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Redis.Tests.Support;
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
        string scrape = await ScrapeAfterTrafficAFailedReloadAndABudgetSqueezeAsync() + "\n" + await ScrapeAFleetInstanceAfterAStoppedRolloutAsync();
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
        Assert.Contains("Memory usage vs limit", titles);
        Assert.Contains("Evictions and unloads by reason", titles);
        Assert.Contains("Load queue length", titles);
        Assert.Contains("Load wait time (p50, p95)", titles);
        Assert.Contains("modelcache_memory_usage_bytes", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_memory_limit_bytes", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_unload_reason", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_load_queue_length", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_load_wait_duration_seconds_bucket", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_model_state=\"evicted\"", all, StringComparison.Ordinal);
        Assert.Contains("Fleet instances reaching Redis", titles);
        Assert.Contains("Instances per served version", titles);
        Assert.Contains("Instances not on their target version", titles);
        Assert.Contains("Canaries and stopped rollouts", titles);
        Assert.Contains("modelcache_fleet_connected", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_fleet_serving", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_fleet_version", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_fleet_failing", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_fleet_canary", all, StringComparison.Ordinal);
        Assert.Contains("modelcache_fleet_rollouts_stopped_total", all, StringComparison.Ordinal);
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

    /// <summary>
    /// Predictions (hits, pool engines), tenant predictions under a budget that holds one tenant model (a memory budget,
    /// evictions, load waits), then a reload of a corrupt file (a failure, Degraded), then a scrape.
    /// </summary>
    private static async Task<string> ScrapeAfterTrafficAFailedReloadAndABudgetSqueezeAsync()
    {
        await using SampleServer server = await SampleServer.StartAsync(seed: true, TenantPredictTests.SqueezedBudget);
        await server.WhenServingAsync(SampleServer.V1Sha256);
        await TaxiTrips.PredictAsync(server.Client);
        await TaxiTrips.PredictAsync(server.Client);
        foreach (string tenant in new[] { "acme", "globex", "initech" })
        {
            using HttpResponseMessage predicted = await server.Client.PostAsync($"/tenants/{tenant}/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));
            Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);
        }

        Assert.True(server.App.Services.GetRequiredService<IModelCacheProvider>().GetMemoryBudgets()[0].Evictions >= 1, "The budget squeeze evicted nothing.");

        string corrupt = Path.Combine(server.ModelDirectory, "corrupt.tmp");
        await File.WriteAllBytesAsync(corrupt, [0x50, 0x4B, 0x03, 0x04, 0x00, 0x01, 0x02]);
        server.PublishAtomically(corrupt);
        await Assert.ThrowsAsync<ModelLoadException>(() => server.Cache.ReloadAsync());
        Assert.Equal(ModelCacheState.Degraded, server.Cache.State);

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>
    /// The sample in a fleet (a real redis-server), its only instance the canary of a bad version (iris: another schema)
    /// whose rollout it stops, then serving a good version published after: every fleet instrument has a sample.
    /// </summary>
    private static async Task<string> ScrapeAFleetInstanceAfterAStoppedRolloutAsync()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using SampleServer server = await SampleServer.StartAsync(
            seed: true,
            $"ModelCache:Fleet:Configuration={redis.Configuration}",
            $"ModelCache:Fleet:FleetName=dashboard-{Guid.NewGuid():N}",
            "ModelCache:Fleet:LoadJitter=00:00:00");
        await server.WhenServingAsync(SampleServer.V1Sha256);
        await UntilFleetSaysAsync(server, "\"servedVersionId\":\"local:", "the instance reports its model (a canary share needs a live member)");

        using (HttpResponseMessage bad = await PublishAsync(server, Path.Combine(AppContext.BaseDirectory, "TestModels", "iris.zip"), "iris", "&canary=0.5"))
        {
            Assert.True(bad.StatusCode == HttpStatusCode.Created, await bad.Content.ReadAsStringAsync());
        }

        await UntilFleetSaysAsync(server, "\"stage\":\"Stopped\"", "the canary stopped the rollout of the bad version");
        Task<ModelVersion> v2 = server.WhenServingAsync(SampleServer.V2Sha256);
        using (HttpResponseMessage good = await PublishAsync(server, SampleServer.BundledModel("taxi-fare-v2.zip"), "v2", ""))
        {
            Assert.True(good.StatusCode == HttpStatusCode.Created, await good.Content.ReadAsStringAsync());
        }

        await v2;
        await UntilFleetSaysAsync(server, "\"servedVersionId\":\"v2\"", "the instance reports v2");
        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();

        static async Task<HttpResponseMessage> PublishAsync(SampleServer server, string file, string versionId, string query)
        {
            using HttpRequestMessage request = SampleServer.Request(HttpMethod.Post, $"/fleet/models/taxi-fare/publish?versionId={versionId}{query}", SampleServer.AdminKey);
            request.Content = new ByteArrayContent(await File.ReadAllBytesAsync(file));
            return await server.Client.SendAsync(request);
        }

        // Polls GET /fleet (bounded) until its answer holds the fragment.
        static async Task UntilFleetSaysAsync(SampleServer server, string fragment, string what)
        {
            using var bound = new CancellationTokenSource(SampleServer.SignalTimeout);
            string text;
            do
            {
                using HttpResponseMessage status = await server.SendAsync(HttpMethod.Get, "/fleet", SampleServer.AdminKey);
                text = await status.Content.ReadAsStringAsync();
                if (text.Contains(fragment, StringComparison.Ordinal))
                {
                    return;
                }

                await Task.Delay(20, CancellationToken.None);
            }
            while (!bound.IsCancellationRequested);
            Assert.Fail($"Timed out after {SampleServer.SignalTimeout} waiting for: {what}; GET /fleet: {text}");
        }
    }

    [GeneratedRegex("(?<![A-Za-z0-9_])(modelcache_[a-z0-9_]+|error_type)")]
    private static partial Regex Token();
}
