using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.AspNetCore.Tests.Support;

namespace ModelCaching.AspNetCore.Tests;

/// <summary>
/// <c>GET /models</c> with many models: two registered ones and a template ("texts", names starting with <c>t-</c>,
/// each model's content is its name, so its size is the name's length) under a 10-byte memory budget.
/// </summary>
public sealed class ModelCacheStatusPagingTests : IAsyncLifetime
{
    private const long BudgetBytes = 10;
    private readonly TextModelSource _greetingSource = new("v1");
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(
            services => services.AddModelCache()
                .AddModel<TextModel>("greeting", model => model.FromSource(_greetingSource).UseLoader(TextModel.LoadAsync))
                .AddModel<TextModel>("farewell", model => model.FromSource(new TextModelSource("bye")).UseLoader(TextModel.LoadAsync))
                .AddModelTemplate<TextModel>(
                    "texts",
                    t => t.FromSource(static (name, _) => new NamedTextSource(name))
                        .UseLoader(LoadNamedAsync)
                        // Time is fake here: an evicted generation is disposed at once rather than after a drain delay.
                        .Configure(static options => options.DrainDelay = TimeSpan.Zero),
                    static o =>
                    {
                        o.NamePrefix = "t-";
                        o.MemoryBudgetBytes = BudgetBytes;
                    }),
            app => app.MapModelCacheEndpoints(TestServer.AdminPolicy));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private IModelCacheProvider Provider => _server.Services.GetRequiredService<IModelCacheProvider>();

    [Fact]
    public async Task GetStatus_WithMoreModelsThanALimit_ReturnsTheFirstPageTheTotalCountAndANextLink()
    {
        MakeTemplateModels(250);

        using HttpResponseMessage response = await GetAsync("/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        JsonElement[] models = [.. body.RootElement.EnumerateArray()];
        Assert.Equal(100, models.Length);
        Assert.Equal("greeting", models[0].GetProperty("name").GetString());
        Assert.Equal("farewell", models[1].GetProperty("name").GetString());
        Assert.Equal("252", Assert.Single(response.Headers.GetValues("X-Total-Count")));
        Assert.Equal("</models?offset=100&limit=100>; rel=\"next\"", Assert.Single(response.Headers.GetValues("Link")));
    }

    [Fact]
    public async Task GetStatus_LastPage_HasTheRestAPrevLinkAndNoNextLink()
    {
        MakeTemplateModels(250);

        using HttpResponseMessage response = await GetAsync("/models?offset=200&limit=100");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal(52, body.RootElement.GetArrayLength());
        Assert.Equal("252", Assert.Single(response.Headers.GetValues("X-Total-Count")));
        Assert.Equal("</models?offset=100&limit=100>; rel=\"prev\"", Assert.Single(response.Headers.GetValues("Link")));
    }

    [Fact]
    public async Task GetStatus_PagesWalkedByTheirLinks_ListEveryModelOnce()
    {
        MakeTemplateModels(25);
        var seen = new List<string>();
        string? next = "/models?limit=7";
        int pages = 0;
        while (next is not null)
        {
            using HttpResponseMessage response = await GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using JsonDocument body = await ReadJsonAsync(response);
            seen.AddRange(body.RootElement.EnumerateArray().Select(static m => m.GetProperty("name").GetString()!));
            next = NextLink(response);
            Assert.True(++pages <= 10, "The next links never ended.");
        }

        Assert.Equal(4, pages);
        Assert.Equal(Provider.Names, seen);
    }

    [Fact]
    public async Task GetStatus_OffsetPastTheEnd_ReturnsAnEmptyPageWithTheTotalCount()
    {
        using HttpResponseMessage response = await GetAsync("/models?offset=50");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal(0, body.RootElement.GetArrayLength());
        Assert.Equal("2", Assert.Single(response.Headers.GetValues("X-Total-Count")));
    }

    [Theory]
    [InlineData("limit=0", "limit", "limit must be a whole number from 1 to 1000 (was '0').")]
    [InlineData("limit=1001", "limit", "limit must be a whole number from 1 to 1000 (was '1001').")]
    [InlineData("limit=ten", "limit", "limit must be a whole number from 1 to 1000 (was 'ten').")]
    [InlineData("offset=-1", "offset", "offset must be a whole number from 0 to 2147483647 (was '-1').")]
    [InlineData("offset=99999999999", "offset", "offset must be a whole number from 0 to 2147483647 (was '99999999999').")]
    [InlineData("state=sleeping", "state", "state must be one of ready, degraded, loading, failed, not_loaded, unloaded, evicted, draining (was 'sleeping').")]
    public async Task GetStatus_WithABadQueryParameter_Returns400NamingTheParameterAndItsRule(string query, string parameter, string message)
    {
        using HttpResponseMessage response = await GetAsync("/models?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal("The model status query has invalid parameters.", body.RootElement.GetProperty("title").GetString());
        JsonProperty error = Assert.Single(body.RootElement.GetProperty("errors").EnumerateObject());
        Assert.Equal(parameter, error.Name);
        Assert.Equal(message, Assert.Single(error.Value.EnumerateArray()).GetString());
    }

    [Fact]
    public async Task GetStatus_WithAStateFilter_ListsOnlyModelsInThatStateAndCountsThem()
    {
        await Provider.GetCache<TextModel>("greeting").GetModelAsync();
        await Provider.GetCache<TextModel>("t-a").GetModelAsync();

        using HttpResponseMessage response = await GetAsync("/models?state=ready&limit=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal("greeting", Assert.Single(body.RootElement.EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal("2", Assert.Single(response.Headers.GetValues("X-Total-Count")));
        Assert.Equal("</models?offset=1&limit=1&state=ready>; rel=\"next\"", Assert.Single(response.Headers.GetValues("Link")));
    }

    [Theory]
    [InlineData("not_loaded")]
    [InlineData("NotLoaded")]
    [InlineData("NOTLOADED")]
    public async Task GetStatus_StateFilter_AcceptsTheMetricAndTheStatusSpellings(string state)
    {
        await Provider.GetCache<TextModel>("greeting").GetModelAsync();

        using HttpResponseMessage response = await GetAsync("/models?state=" + state);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal(["farewell"], body.RootElement.EnumerateArray().Select(static m => m.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task GetStatus_AfterABudgetSqueeze_ShowsEvictedModelsWithoutSizeAndReadyOnesWithTheirSize()
    {
        // 3 bytes each under a 10-byte budget, a cap: the fourth and fifth loads must evict, so at most three stay ready.
        foreach (string name in new[] { "t-1", "t-2", "t-3", "t-4", "t-5" })
        {
            await Provider.GetCache<TextModel>(name).GetModelAsync();
        }

        using HttpResponseMessage evictedResponse = await GetAsync("/models?state=evicted");
        using HttpResponseMessage readyResponse = await GetAsync("/models?state=ready");

        using JsonDocument evicted = await ReadJsonAsync(evictedResponse);
        using JsonDocument ready = await ReadJsonAsync(readyResponse);
        JsonElement[] evictedModels = [.. evicted.RootElement.EnumerateArray()];
        Assert.NotEmpty(evictedModels);
        Assert.All(evictedModels, static m =>
        {
            Assert.Equal("Evicted", m.GetProperty("state").GetString());
            Assert.Equal(0, m.GetProperty("sizeBytes").GetInt64());
            Assert.Equal(JsonValueKind.Null, m.GetProperty("version").ValueKind);
        });
        JsonElement[] readyModels = [.. ready.RootElement.EnumerateArray()];
        Assert.InRange(readyModels.Length, 1, BudgetBytes / 3);
        Assert.All(readyModels, static m =>
        {
            Assert.Equal(3, m.GetProperty("sizeBytes").GetInt64());
            Assert.Equal(3, m.GetProperty("version").GetProperty("sizeBytes").GetInt64());
        });
        Assert.Equal(5, evictedModels.Length + readyModels.Length);
    }

    [Fact]
    public async Task GetStatus_DrainingFilter_ListsModelsWhoseRetiredGenerationsAreStillHeld()
    {
        IModelCache<TextModel> greeting = Provider.GetCache<TextModel>("greeting");
        using ModelLease<TextModel> lease = await greeting.AcquireAsync();
        _greetingSource.Content = "v2";
        await greeting.ReloadAsync();
        await Provider.GetCache<TextModel>("farewell").GetModelAsync();

        using HttpResponseMessage response = await GetAsync("/models?state=draining");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        JsonElement model = Assert.Single(body.RootElement.EnumerateArray());
        Assert.Equal("greeting", model.GetProperty("name").GetString());
        Assert.True(model.GetProperty("draining").GetBoolean());
        Assert.Equal(1, model.GetProperty("retiredGenerations").GetInt32());
        Assert.Equal("Ready", model.GetProperty("state").GetString());
    }

    [Fact]
    public async Task GetStatus_ModelWithNothingRetired_IsNotDraining()
    {
        await Provider.GetCache<TextModel>("farewell").GetModelAsync();

        using HttpResponseMessage response = await GetAsync("/models/farewell");

        using JsonDocument body = await ReadJsonAsync(response);
        Assert.False(body.RootElement.GetProperty("draining").GetBoolean());
        Assert.Equal(3, body.RootElement.GetProperty("sizeBytes").GetInt64());
    }

    [Fact]
    public async Task GetBudgets_ShowsEachBudgetWithLimitUsageAndEvictions()
    {
        foreach (string name in new[] { "t-1", "t-2", "t-3", "t-4", "t-5" })
        {
            await Provider.GetCache<TextModel>(name).GetModelAsync();
        }

        using HttpResponseMessage response = await GetAsync("/models/budgets");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        JsonElement budget = Assert.Single(body.RootElement.EnumerateArray());
        ModelMemoryBudgetStatus expected = Assert.Single(Provider.GetMemoryBudgets());
        Assert.Equal("texts", budget.GetProperty("scope").GetString());
        Assert.Equal(BudgetBytes, budget.GetProperty("limitBytes").GetInt64());
        Assert.Equal(expected.ResidentBytes, budget.GetProperty("residentBytes").GetInt64());
        Assert.Equal(expected.DrainingBytes, budget.GetProperty("drainingBytes").GetInt64());
        Assert.Equal(0, budget.GetProperty("reservedBytes").GetInt64());
        Assert.Equal(expected.UsedBytes, budget.GetProperty("usedBytes").GetInt64());
        Assert.Equal(0, budget.GetProperty("waitingLoads").GetInt32());
        Assert.True(budget.GetProperty("evictions").GetInt64() >= 1, body.RootElement.ToString());
        Assert.InRange(expected.UsedBytes, 3, BudgetBytes + 3);
    }

    [Fact]
    public async Task GetBudgets_IsNotShadowedByTheModelRoute_AndModelsStillResolveByName()
    {
        using HttpResponseMessage budgets = await GetAsync("/models/budgets");
        using HttpResponseMessage greeting = await GetAsync("/models/greeting");

        Assert.Equal(HttpStatusCode.OK, budgets.StatusCode);
        using JsonDocument budgetsBody = await ReadJsonAsync(budgets);
        Assert.Equal(JsonValueKind.Array, budgetsBody.RootElement.ValueKind);
        Assert.Equal(HttpStatusCode.OK, greeting.StatusCode);
        using JsonDocument greetingBody = await ReadJsonAsync(greeting);
        Assert.Equal("greeting", greetingBody.RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public async Task GetBudgets_WithoutCredentials_Returns401()
    {
        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Get, "/models/budgets"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task GetOne_TemplateNameNeverUsed_Returns404AndDoesNotMakeTheModel()
    {
        using HttpResponseMessage response = await GetAsync("/models/t-never-used");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal("There is no model named 't-never-used'.", body.RootElement.GetProperty("title").GetString());
        Assert.Contains("never make a model", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(["greeting", "farewell"], Provider.Names);
        Assert.Equal(0, NamedTextSource.Fetches("t-never-used"));
    }

    [Fact]
    public async Task GetOne_UnknownNameAmongManyModels_Lists100KnownNamesAndCountsThemAll()
    {
        MakeTemplateModels(250);

        using HttpResponseMessage response = await GetAsync("/models/nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal(100, body.RootElement.GetProperty("knownModels").GetArrayLength());
        Assert.Equal("greeting", body.RootElement.GetProperty("knownModels")[0].GetString());
        Assert.Equal(252, body.RootElement.GetProperty("modelCount").GetInt32());
    }

    [Fact]
    public async Task Reload_TemplateNameNeverUsed_Returns404AndDoesNotMakeOrLoadTheModel()
    {
        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Post, "/models/t-never-reloaded/reload", "ada", "ml-admin"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(["greeting", "farewell"], Provider.Names);
        Assert.Equal(0, NamedTextSource.Fetches("t-never-reloaded"));
    }

    [Fact]
    public async Task GetOne_TemplateModelInUse_ReturnsItsStatus()
    {
        await Provider.GetCache<TextModel>("t-used").GetModelAsync();

        using HttpResponseMessage response = await GetAsync("/models/t-used");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal("Ready", body.RootElement.GetProperty("state").GetString());
        Assert.Equal("text:t-used", body.RootElement.GetProperty("source").GetString());
    }

    [Fact]
    public async Task GetOne_NameBreakingTheNameRule_Returns404WithTheNameShortened()
    {
        string name = "t-" + new string('x', 2000);

        using HttpResponseMessage response = await GetAsync("/models/" + name);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal($"There is no model named '{name[..40]}…'.", body.RootElement.GetProperty("title").GetString());
        Assert.Equal(["greeting", "farewell"], Provider.Names);
    }

    [Fact]
    public async Task GetStatus_TemplateModelWhoseFirstLoadFailed_IsNotListed()
    {
        await Assert.ThrowsAsync<TemplateModelNotFoundException>(async () => await Provider.GetCache<TextModel>("t-missing").GetModelAsync());

        using HttpResponseMessage response = await GetAsync("/models");

        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal(["greeting", "farewell"], body.RootElement.EnumerateArray().Select(static m => m.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task GetStatus_WhileModelsAreMadeLoadedEvictedAndDroppedOnAllCores_AlwaysAnswers200AndBringsNoDroppedNameBack()
    {
        int cores = Math.Max(2, Environment.ProcessorCount);
        using var done = new CancellationTokenSource();
        int readFailures = 0;
        int reads = 0;
        string? firstFailure = null;

        // Writers load models (evicting others under the 10-byte budget) and fail first loads (names the provider drops).
        Task[] writers = [.. Enumerable.Range(0, cores).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 60; i++)
            {
                try
                {
                    await Provider.GetCache<TextModel>($"t-{w}{i % 7}").GetModelAsync();
                    await Provider.GetCache<TextModel>($"t-missing-{w}-{i}").GetModelAsync();
                }
                catch (ModelLoadException)
                {
                    // The missing names: expected.
                }
            }
        }))];
        Task[] readers = [.. Enumerable.Range(0, cores).Select(r => Task.Run(async () =>
        {
            string[] paths = ["/models?limit=1000", "/models?state=evicted", "/models?state=draining&limit=5", "/models/budgets"];
            for (int i = 0; !done.IsCancellationRequested || i < 5; i++)
            {
                using HttpResponseMessage response = await GetAsync(paths[(r + i) % paths.Length]);
                Interlocked.Increment(ref reads);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref readFailures);
                    Interlocked.CompareExchange(ref firstFailure, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}", null);
                }
            }
        }))];

        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60));
        await done.CancelAsync();
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(readFailures == 0, $"{readFailures} of {reads} status reads failed; the first: {firstFailure}");
        Assert.True(Assert.Single(Provider.GetMemoryBudgets()).Evictions > 0, "The writers evicted nothing.");
        // A name listed by one read and dropped before the next lookup must stay dropped: reads never make a model.
        string[] kept = [.. Provider.Names.Where(static n => n.Contains("missing", StringComparison.Ordinal))];
        Assert.True(kept.Length == 0, $"{kept.Length} names whose first load failed are kept: {string.Join(", ", kept.Take(5))}");
    }

    private void MakeTemplateModels(int count)
    {
        // Made, not loaded: the provider lists a template model from its first use.
        for (int i = 0; i < count; i++)
        {
            Provider.GetCache<TextModel>($"t-{i:D4}");
        }
    }

    private Task<HttpResponseMessage> GetAsync(string path) =>
        _server.Client.SendAsync(TestServer.Request(HttpMethod.Get, path, "ada", "ml-admin"));

    private static string? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out IEnumerable<string>? values))
        {
            return null;
        }

        foreach (string link in string.Join(",", values).Split(','))
        {
            string trimmed = link.Trim();
            if (trimmed.EndsWith("rel=\"next\"", StringComparison.Ordinal))
            {
                return trimmed[1..trimmed.IndexOf('>', StringComparison.Ordinal)];
            }
        }

        return null;
    }

    private static ValueTask<TextModel> LoadNamedAsync(ModelArtifact artifact, CancellationToken cancellationToken) =>
        TextModel.LoadAsync(artifact, cancellationToken);

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response) =>
        await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());

    /// <summary>A model source whose content is the model's name; names containing "missing" do not exist.</summary>
    private sealed class NamedTextSource(string name) : IModelSource
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> s_fetches = new(StringComparer.Ordinal);

        public string Description => "text:" + name;

        public static int Fetches(string name) => s_fetches.TryGetValue(name, out int count) ? count : 0;

        public ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
        {
            s_fetches.AddOrUpdate(name, 1, static (_, count) => count + 1);
            if (name.Contains("missing", StringComparison.Ordinal))
            {
                throw new FileNotFoundException($"There is no model '{name}'.", name + ".txt");
            }

            return ValueTask.FromResult<ModelArtifact?>(new ModelArtifact(Encoding.UTF8.GetBytes(name), Description));
        }

        public Microsoft.Extensions.Primitives.IChangeToken? GetChangeToken() => null;
    }
}
