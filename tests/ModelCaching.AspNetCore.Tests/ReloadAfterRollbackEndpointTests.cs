using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.AspNetCore.Tests.Support;

namespace ModelCaching.AspNetCore.Tests;

/// <summary>
/// <c>POST /models/{name}/reload</c> after a rollback: the version rolled back from is refused with a 409 problem that
/// explains the rollback and how to force; <c>?force=true</c> loads it; the status history names who did what.
/// </summary>
public sealed class ReloadAfterRollbackEndpointTests : IAsyncLifetime
{
    private readonly TextModelSource _source = new("v1");
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(
        services => services.AddModelCache().AddModel<TextModel>("taxi-fare", model => model.FromSource(_source).UseLoader(TextModel.LoadAsync)),
        app => app.MapModelCacheEndpoints(TestServer.AdminPolicy));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private IModelCache<TextModel> Cache => _server.Services.GetRequiredKeyedService<IModelCache<TextModel>>("taxi-fare");

    [Fact]
    public async Task Reload_AfterRollback_Is409ExplainingTheRollback_ForceLoadsIt_AndTheHistoryNamesEachCaller()
    {
        await Cache.GetModelAsync();
        string v1 = Cache.Version!.Id;
        _source.Content = "v2";
        await SendAsync("/models/taxi-fare/reload", "ada");
        string v2 = Cache.Version!.Id;
        using (HttpResponseMessage rollback = await SendAsync("/models/taxi-fare/rollback", "ada"))
        {
            Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        }

        using HttpResponseMessage refused = await SendAsync("/models/taxi-fare/reload", "bob");

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using (JsonDocument problem = await ReadJsonAsync(refused))
        {
            Assert.Contains("rolled back", problem.RootElement.GetProperty("title").GetString(), StringComparison.Ordinal);
            Assert.Contains("force=true", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal(v2, problem.RootElement.GetProperty("rolledBackVersion").GetString());
            Assert.Equal(v1, problem.RootElement.GetProperty("servingVersion").GetString());
            Assert.Equal("POST /models/taxi-fare/reload?force=true", problem.RootElement.GetProperty("forceWith").GetString());
        }

        Assert.Equal("v1", Cache.GetModel().Text);

        using HttpResponseMessage forced = await SendAsync("/models/taxi-fare/reload?force=true", "carol");

        Assert.Equal(HttpStatusCode.OK, forced.StatusCode);
        Assert.Equal("v2", Cache.GetModel().Text);
        using JsonDocument status = await ReadJsonAsync(forced);
        // The status lists the newest attempt first.
        JsonElement[] history = [.. status.RootElement.GetProperty("history").EnumerateArray().Take(3).Reverse()];
        Assert.Equal(("Rollback", "Success", "ada"), Describe(history[0]));
        Assert.Equal($"rolled back from version {v2}", history[0].GetProperty("detail").GetString());
        Assert.Equal(("Explicit", "Refused", "bob"), Describe(history[1]));
        Assert.Equal(("Explicit", "Success", "carol"), Describe(history[2]));
        Assert.StartsWith("forced:", history[2].GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static (string?, string?, string?) Describe(JsonElement attempt) =>
        (attempt.GetProperty("reason").GetString(), attempt.GetProperty("outcome").GetString(), attempt.GetProperty("requestedBy").GetString());

    private Task<HttpResponseMessage> SendAsync(string path, string user) =>
        _server.Client.SendAsync(TestServer.Request(HttpMethod.Post, path, user, "ml-admin"));

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response) =>
        await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
}
