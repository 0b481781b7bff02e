using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

/// <summary>
/// <c>POST /tenants/{id}/predict</c>: one model per tenant from the "tenants" template (bundled: acme and initech are
/// copies of taxi-fare.zip, globex of taxi-fare-v2.zip), under the template's memory budget.
/// </summary>
public sealed class TenantPredictTests
{
    private const string TenantRule = "A tenant id has 1 to 121 characters, each an ASCII letter, digit, '-', '_' or '.', and starts with a letter or a digit.";

    /// <summary>The bundled tenant models' sizes (artifact bytes): taxi-fare.zip and taxi-fare-v2.zip.</summary>
    private const long V1Bytes = 11_836;
    private const long V2Bytes = 13_360;

    /// <summary>
    /// A budget that holds one bundled model but not two, and no drain delay (an evicted model's memory is free as soon
    /// as its engines are dropped): the second and third tenants must evict.
    /// </summary>
    internal static readonly string[] SqueezedBudget =
    [
        $"ModelCache:Templates:tenants:MemoryBudgetBytes={V1Bytes + V2Bytes - 5_000}",
        "ModelCache:Templates:tenants:DrainDelay=00:00:00",
    ];

    [Theory]
    [InlineData("acme", TaxiTrips.KnownTripFareV1, SampleServer.V1Sha256)]
    [InlineData("globex", TaxiTrips.KnownTripFareV2, SampleServer.V2Sha256)]
    [InlineData("initech", TaxiTrips.KnownTripFareV1, SampleServer.V1Sha256)]
    public async Task TenantPredict_ForABundledTenant_PredictsWithThatTenantsOwnModel(string tenant, float fare, string versionId)
    {
        await using SampleServer server = await SampleServer.StartAsync();

        JsonElement answer = await PredictForTenantAsync(server, tenant);

        Assert.Equal(fare, answer.GetProperty("fareAmount").GetSingle(), TaxiTrips.Tolerance);
        Assert.Equal("tenant-" + tenant, answer.GetProperty("model").GetString());
        Assert.Equal(versionId, answer.GetProperty("modelVersion").GetString());
        Assert.Equal(1, answer.GetProperty("modelGeneration").GetInt64());
    }

    [Fact]
    public async Task TenantPredict_TwoTenants_LoadEachModelOnceAndListBothInModels()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        await PredictForTenantAsync(server, "acme");
        await PredictForTenantAsync(server, "globex");
        await PredictForTenantAsync(server, "acme");

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/models", SampleServer.ReaderKey);
        JsonElement models = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal(["taxi-fare", "tenant-acme", "tenant-globex"], models.EnumerateArray().Select(static m => m.GetProperty("name").GetString()));
        JsonElement acme = models[1];
        Assert.Equal("Ready", acme.GetProperty("state").GetString());
        Assert.Equal(1, acme.GetProperty("loads").GetInt64());
        Assert.Equal(V1Bytes, acme.GetProperty("sizeBytes").GetInt64());
        Assert.Equal(V2Bytes, models[2].GetProperty("sizeBytes").GetInt64());
        Assert.Equal("3", Assert.Single(response.Headers.GetValues("X-Total-Count")));
    }

    [Fact]
    public async Task TenantPredict_PathTraversalId_Returns400NamingTheRuleAndMakesNoModel()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync("/tenants/..%2F..%2Fetc%2Fpasswd/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal("The tenant id is not valid.", problem.GetProperty("title").GetString());
        Assert.StartsWith(TenantRule, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("'..%2F..%2Fetc%2Fpasswd'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(TenantRule, problem.GetProperty("rule").GetString());
        Assert.Equal(["taxi-fare"], Provider(server).Names);
    }

    [Fact]
    public async Task TenantPredict_10000CharacterId_Returns400NamingTheRuleAndMakesNoModel()
    {
        // Kestrel's default request line limit (8 KB) answers 414 before the app sees such an id; raise it to reach the rule.
        await using SampleServer server = await SampleServer.StartAsync(static builder => builder.WebHost.ConfigureKestrel(static kestrel => kestrel.Limits.MaxRequestLineSize = 32 * 1024));
        string id = new('a', 10_000);

        using HttpResponseMessage response = await server.Client.PostAsync($"/tenants/{id}/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal("The tenant id is not valid.", problem.GetProperty("title").GetString());
        Assert.Equal($"{TenantRule} '{new string('a', 40)}…' (10,000 characters) does not.", problem.GetProperty("detail").GetString());
        Assert.Equal(["taxi-fare"], Provider(server).Names);
    }

    [Fact]
    public async Task TenantPredict_10000CharacterIdWithKestrelsDefaults_IsRefusedByKestrelWith414()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync($"/tenants/{new string('a', 10_000)}/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
        Assert.Equal(["taxi-fare"], Provider(server).Names);
    }

    [Fact]
    public async Task TenantPredict_IdStartingWithADot_Returns400NamingTheRule()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync("/tenants/.hidden/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal($"{TenantRule} '.hidden' (7 characters) does not.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task TenantPredict_UnknownTenant_Returns404AndTheProviderDoesNotKeepTheName()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync("/tenants/hooli/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal("There is no model named 'tenant-hooli'.", problem.GetProperty("title").GetString());
        Assert.Equal("Template 'tenants' serves the name 'tenant-hooli', but no model is published for it at the template's source.", problem.GetProperty("detail").GetString());

        using HttpResponseMessage models = await server.SendAsync(HttpMethod.Get, "/models", SampleServer.ReaderKey);
        Assert.Equal(["taxi-fare"], (await TaxiTrips.ReadJsonAsync(models)).EnumerateArray().Select(static m => m.GetProperty("name").GetString()));
        using HttpResponseMessage one = await server.SendAsync(HttpMethod.Get, "/models/tenant-hooli", SampleServer.ReaderKey);
        Assert.Equal(HttpStatusCode.NotFound, one.StatusCode);
        Assert.Equal(["taxi-fare"], Provider(server).Names);
    }

    [Fact]
    public async Task TenantPredict_ConcurrentRequestsForAnUnknownTenant_AllAnswer404AndTheNameIsNotKept()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        int workers = Math.Max(4, Environment.ProcessorCount * 2);
        const int RequestsPerWorker = 20;
        int other = 0;
        var firstOther = new string?[1];

        // Requests that share a failing first load, and requests that arrive as its cache is being dropped.
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < RequestsPerWorker; i++)
            {
                using HttpResponseMessage response = await server.Client.PostAsync("/tenants/hooli/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));
                if (response.StatusCode != HttpStatusCode.NotFound)
                {
                    Interlocked.Increment(ref other);
                    Interlocked.CompareExchange(ref firstOther[0], $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}", null);
                }
            }
        })));

        Assert.True(other == 0, $"{other} of {workers * RequestsPerWorker} requests did not answer 404; the first: {firstOther[0]}");
        Assert.Equal(["taxi-fare"], Provider(server).Names);
    }

    [Fact]
    public async Task TenantPredict_CorruptTenantModel_Returns503NamingTheModel()
    {
        string tenants = Path.Combine(Path.GetTempPath(), "modelcaching-webapi-tests", "tenants-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tenants);
        try
        {
            await File.WriteAllBytesAsync(Path.Combine(tenants, "tenant-broken.zip"), [0x50, 0x4B, 0x03, 0x04, 0x00, 0x01, 0x02]);
            await using SampleServer server = await SampleServer.StartAsync(seed: true, $"Sample:TenantModelDirectory={tenants}");

            using HttpResponseMessage response = await server.Client.PostAsync("/tenants/broken/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
            Assert.Equal("Model 'tenant-broken' is not available.", problem.GetProperty("title").GetString());
            Assert.StartsWith("Model 'tenant-broken' could not be loaded from ", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(tenants, recursive: true);
        }
    }

    [Fact]
    public async Task TenantPredict_WithAnIncompleteTrip_Returns400NamingTheMissingField()
    {
        await using SampleServer server = await SampleServer.StartAsync();

        using HttpResponseMessage response = await server.Client.PostAsync("/tenants/acme/predict", TaxiTrips.Json("""{"vendorId":"VTS","rateCode":"1","passengerCount":1,"tripTime":1140,"paymentType":"CRD"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement problem = await TaxiTrips.ReadJsonAsync(response);
        Assert.Equal("The field 'tripDistance' is required (a number).", problem.GetProperty("errors").GetProperty("tripDistance")[0].GetString());
    }

    [Fact]
    public async Task Budgets_ShowTheTenantsBudgetFromAppSettingsWithWhatIsResident()
    {
        await using SampleServer server = await SampleServer.StartAsync();
        await PredictForTenantAsync(server, "acme");

        using HttpResponseMessage response = await server.SendAsync(HttpMethod.Get, "/models/budgets", SampleServer.ReaderKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement budget = Assert.Single((await TaxiTrips.ReadJsonAsync(response)).EnumerateArray());
        Assert.Equal("tenants", budget.GetProperty("scope").GetString());
        Assert.Equal(65_536, budget.GetProperty("limitBytes").GetInt64());
        Assert.Equal(V1Bytes, budget.GetProperty("residentBytes").GetInt64());
        Assert.Equal(0, budget.GetProperty("evictions").GetInt64());
    }

    [Fact]
    public async Task BudgetSqueeze_EvictsATenantModel_ShownAsEvictedInModelsAndCountedInBudgets()
    {
        await using SampleServer server = await SampleServer.StartAsync(seed: true, SqueezedBudget);

        await PredictForTenantAsync(server, "acme");
        await PredictForTenantAsync(server, "globex");
        await PredictForTenantAsync(server, "initech");

        using HttpResponseMessage evicted = await server.SendAsync(HttpMethod.Get, "/models?state=evicted", SampleServer.ReaderKey);
        JsonElement[] evictedModels = [.. (await TaxiTrips.ReadJsonAsync(evicted)).EnumerateArray()];
        Assert.NotEmpty(evictedModels);
        Assert.All(evictedModels, static m =>
        {
            Assert.StartsWith("tenant-", m.GetProperty("name").GetString(), StringComparison.Ordinal);
            Assert.Equal("Evicted", m.GetProperty("state").GetString());
            Assert.Equal(0, m.GetProperty("sizeBytes").GetInt64());
        });
        Assert.Equal(evictedModels.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(evicted.Headers.GetValues("X-Total-Count")));

        using HttpResponseMessage budgets = await server.SendAsync(HttpMethod.Get, "/models/budgets", SampleServer.ReaderKey);
        JsonElement budget = Assert.Single((await TaxiTrips.ReadJsonAsync(budgets)).EnumerateArray());
        Assert.True(budget.GetProperty("evictions").GetInt64() >= 1, budget.ToString());
        // The budget is a cap: a newcomer the policy did not admit loads in room evicted for it.
        Assert.InRange(budget.GetProperty("usedBytes").GetInt64(), 0, budget.GetProperty("limitBytes").GetInt64());

        // An evicted tenant is loaded again on its next request.
        string again = evictedModels[0].GetProperty("name").GetString()!["tenant-".Length..];
        JsonElement answer = await PredictForTenantAsync(server, again);
        Assert.Equal(2, answer.GetProperty("modelGeneration").GetInt64());
    }

    [Fact]
    public async Task TenantPredict_ConcurrentRequestsOnAllCoresUnderABudgetSqueeze_AllSucceedWithTheirTenantsModel()
    {
        await using SampleServer server = await SampleServer.StartAsync(seed: true, SqueezedBudget);
        (string Tenant, float Fare)[] tenants = [("acme", TaxiTrips.KnownTripFareV1), ("globex", TaxiTrips.KnownTripFareV2), ("initech", TaxiTrips.KnownTripFareV1)];
        int workers = Math.Max(4, Environment.ProcessorCount * 2);
        const int RequestsPerWorker = 30;
        int failures = 0;
        int wrongModel = 0;
        var firstFailure = new string?[1];

        // Each worker walks the tenants in its own order, so models are evicted and loaded again while others predict.
        await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < RequestsPerWorker; i++)
            {
                (string tenant, float fare) = tenants[(worker + i) % tenants.Length];
                using HttpResponseMessage response = await server.Client.PostAsync($"/tenants/{tenant}/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));
                string text = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstFailure[0], $"{tenant}: {(int)response.StatusCode} {text}", null);
                    continue;
                }

                JsonElement answer = JsonDocument.Parse(text).RootElement;
                if (Math.Abs(answer.GetProperty("fareAmount").GetSingle() - fare) > TaxiTrips.Tolerance || answer.GetProperty("model").GetString() != "tenant-" + tenant)
                {
                    Interlocked.Increment(ref wrongModel);
                }
            }
        })));

        Assert.True(failures == 0, $"{failures} of {workers * RequestsPerWorker} requests failed; the first: {firstFailure[0]}");
        Assert.Equal(0, wrongModel);
        ModelMemoryBudgetStatus budget = Assert.Single(Provider(server).GetMemoryBudgets());
        Assert.True(budget.Evictions >= 1, "The budget squeeze evicted nothing.");
        Assert.InRange(budget.UsedBytes, 0, budget.LimitBytes);
        Assert.Equal(["taxi-fare", "tenant-acme", "tenant-globex", "tenant-initech"], Provider(server).Names);
    }

    private static IModelCacheProvider Provider(SampleServer server) => server.App.Services.GetRequiredService<IModelCacheProvider>();

    private static async Task<JsonElement> PredictForTenantAsync(SampleServer server, string tenant)
    {
        using HttpResponseMessage response = await server.Client.PostAsync($"/tenants/{tenant}/predict", TaxiTrips.Json(TaxiTrips.KnownTrip));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /tenants/{tenant}/predict answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
