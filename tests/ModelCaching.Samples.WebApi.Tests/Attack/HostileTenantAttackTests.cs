using System.Net;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests.Attack;

/// <summary>The tenant endpoint attacked as anonymous clients would: odd ids, encoded separators, thousands of made-up tenants at once.</summary>
/// <remarks>
/// Runs alone, with <see cref="MetricsEndpointTests"/>: OpenTelemetry's listener picks meters by name process-wide, so the
/// apps of tests running beside it added their series to this app's /metrics (2,248 <c>modelcache_</c> lines in a CI
/// run, against 163 alone, none naming a made-up tenant).
/// </remarks>
[Collection(nameof(MetricsEndpointTests))]
public sealed class HostileTenantAttackTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<string> HostileIds() =>
    [
        "..%2Facme", "acme%2F..%2Facme", "a%5C..%5Cb", "%C3%A9cole", "t%00x", "acme%20", "%20acme", "-acme", "_x",
        ".hidden", "a%0Ab", "%E2%80%AEacme", "acme%3Fx%3D1", "CON", "ACME", "acme..", "a.zip", "%25", "%F0%9F%98%80",
    ];

    [Theory]
    [MemberData(nameof(HostileIds))]
    public async Task TenantPredict_WithAHostileId_AnswersAClientErrorAndKeepsNoModelName(string id)
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync($"/tenants/{id}/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));

        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{id}: {(int)response.StatusCode}");
        Assert.Equal(["taxi-fare"], server.App.Services.GetRequiredService<IModelCacheProvider>().Names);
    }

    [Fact]
    public async Task FiveThousandMadeUpTenantsOnAllCores_AllAnswer404_ThenARealTenantPredictsAndMetricsStaySmall()
    {
        const int Ghosts = 5_000;
        await using SampleServer server = await SampleServer.StartAsync();
        await server.WhenServingAsync(SampleServer.V1Sha256);
        int wrongStatus = 0;
        await Parallel.ForAsync(0, Ghosts, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount * 4 }, async (i, ct) =>
        {
            using HttpResponseMessage response = await server.Client.PostAsync($"/tenants/ghost-{i}.x_{i % 7}/predict", TaxiTrips.Json(TaxiTrips.KnownTrip), ct);
            if (response.StatusCode != HttpStatusCode.NotFound)
            {
                Interlocked.Increment(ref wrongStatus);
            }
        });

        using HttpResponseMessage acme = await server.Client.PostAsync("/tenants/acme/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));
        using HttpResponseMessage metrics = await server.SendAsync(HttpMethod.Get, "/metrics");
        string text = await metrics.Content.ReadAsStringAsync();
        output.WriteLine($"{Ghosts:N0} made-up tenants: /metrics {text.Length:N0} characters, {text.Split('\n').Length} lines, {text.Split('\n').Count(line => line.StartsWith("modelcache_", StringComparison.Ordinal))} modelcache_ lines");

        Assert.Equal(0, wrongStatus);
        Assert.Equal(HttpStatusCode.OK, acme.StatusCode);
        Assert.DoesNotContain("ghost", text, StringComparison.Ordinal);
        Assert.Contains("modelcache_model_name=\"tenant-acme\"", text, StringComparison.Ordinal);
        // Only this library's series are bounded by what exists; ASP.NET Core's own request histograms (by status and
        // route) vary with timing and are not ours to bound. A series per made-up name would add thousands of lines.
        int ours = text.Split('\n').Count(line => line.StartsWith("modelcache_", StringComparison.Ordinal));
        Assert.True(ours < 1_000, $"/metrics has {ours:N0} modelcache_ lines after {Ghosts:N0} made-up tenants");
        Assert.Equal(["taxi-fare", "tenant-acme"], server.App.Services.GetRequiredService<IModelCacheProvider>().Names.Order(StringComparer.Ordinal));
    }
}
