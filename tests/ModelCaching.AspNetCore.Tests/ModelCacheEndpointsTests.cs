using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.AspNetCore.Tests.Support;

namespace ModelCaching.AspNetCore.Tests;

public sealed class ModelCacheEndpointsTests : IAsyncLifetime
{
    private readonly TextModelSource _source = new("v1");
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(
            services => services.AddModelCache()
                .AddModel<TextModel>("greeting", model => model.FromSource(_source).UseLoader(TextModel.LoadAsync))
                .AddModel<TextModel>("farewell", model => model.FromSource(new TextModelSource("bye")).UseLoader(TextModel.LoadAsync)),
            app => app.MapModelCacheEndpoints(TestServer.AdminPolicy));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private IModelCache<TextModel> Greeting => _server.Services.GetRequiredKeyedService<IModelCache<TextModel>>("greeting");

    [Fact]
    public async Task GetStatus_AsAdmin_ListsEveryModelWithStateVersionAndCounters()
    {
        await Greeting.GetModelAsync();
        Greeting.GetModel();

        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Get, "/models", "ada", "ml-admin"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        JsonElement[] models = [.. body.RootElement.EnumerateArray()];
        Assert.Equal(["greeting", "farewell"], models.Select(m => m.GetProperty("name").GetString()));

        JsonElement greeting = models[0];
        Assert.Equal("Ready", greeting.GetProperty("state").GetString());
        Assert.Equal("memory:test", greeting.GetProperty("source").GetString());
        Assert.Equal(Greeting.Version!.Id, greeting.GetProperty("version").GetProperty("id").GetString());
        Assert.Equal(1, greeting.GetProperty("version").GetProperty("generation").GetInt64());
        Assert.Equal(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), greeting.GetProperty("version").GetProperty("loadedAt").GetDateTimeOffset());
        Assert.Equal(1, greeting.GetProperty("hits").GetInt64());
        Assert.Equal(1, greeting.GetProperty("misses").GetInt64());
        Assert.Equal("Success", greeting.GetProperty("history")[0].GetProperty("outcome").GetString());

        JsonElement farewell = models[1];
        Assert.Equal("NotLoaded", farewell.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, farewell.GetProperty("version").ValueKind);
    }

    [Fact]
    public async Task GetOne_UnknownModel_Returns404NamingTheKnownModels()
    {
        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Get, "/models/greetings", "ada", "ml-admin"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Contains("greetings", body.RootElement.GetProperty("title").GetString());
        Assert.Equal(["greeting", "farewell"], body.RootElement.GetProperty("knownModels").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task GetStatus_WithoutCredentials_Returns401()
    {
        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Get, "/models"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Reload_ByCallerWithoutAdminRole_Returns403AndDoesNotReload()
    {
        await Greeting.GetModelAsync();
        _source.Content = "v2";

        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Post, "/models/greeting/reload", "eve", "ml-reader"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("v1", Greeting.GetModel().Text);
        Assert.Equal(1, Greeting.Version!.Generation);
    }

    [Fact]
    public async Task Rollback_WithoutCredentials_Returns401AndKeepsServing()
    {
        await Greeting.GetModelAsync();

        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Post, "/models/greeting/rollback"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("v1", Greeting.GetModel().Text);
    }

    [Fact]
    public async Task Reload_WhenSourceChanged_SwapsToNewVersionAndReturnsItsStatus()
    {
        await Greeting.GetModelAsync();
        string firstVersion = Greeting.Version!.Id;
        _source.Content = "v2";

        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Post, "/models/greeting/reload", "ada", "ml-admin"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal(2, body.RootElement.GetProperty("version").GetProperty("generation").GetInt64());
        Assert.NotEqual(firstVersion, body.RootElement.GetProperty("version").GetProperty("id").GetString());
        Assert.Equal("v2", Greeting.GetModel().Text);
    }

    [Fact]
    public async Task Reload_WhenNewContentIsCorrupt_Returns502NamingTheCauseAndKeepsServingOldVersion()
    {
        await Greeting.GetModelAsync();
        string goodVersion = Greeting.Version!.Id;
        _source.Content = "corrupt bytes";

        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Post, "/models/greeting/reload", "ada", "ml-admin"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Contains("The model file is corrupt", body.RootElement.GetProperty("detail").GetString());
        Assert.Contains($"Version {goodVersion}", body.RootElement.GetProperty("detail").GetString());
        Assert.Equal("Degraded", body.RootElement.GetProperty("state").GetString());
        Assert.Equal(goodVersion, body.RootElement.GetProperty("servingVersion").GetString());
        Assert.Equal("v1", Greeting.GetModel().Text);
    }

    [Fact]
    public async Task Reload_UnknownModel_Returns404NamingTheKnownModels()
    {
        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Post, "/models/sentiment/reload", "ada", "ml-admin"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Contains("sentiment", body.RootElement.GetProperty("detail").GetString());
        Assert.Equal(["greeting", "farewell"], body.RootElement.GetProperty("knownModels").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Rollback_AfterReload_ServesThePreviousVersionAgain()
    {
        await Greeting.GetModelAsync();
        string firstVersion = Greeting.Version!.Id;
        _source.Content = "v2";
        await Greeting.ReloadAsync();

        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Post, "/models/greeting/rollback", "ada", "ml-admin"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Equal(firstVersion, body.RootElement.GetProperty("version").GetProperty("id").GetString());
        Assert.Equal(3, body.RootElement.GetProperty("version").GetProperty("generation").GetInt64());
        Assert.Equal("v1", Greeting.GetModel().Text);
    }

    [Fact]
    public async Task Rollback_WithNoPreviousVersion_Returns409AndKeepsServing()
    {
        await Greeting.GetModelAsync();

        using HttpResponseMessage response = await _server.Client.SendAsync(TestServer.Request(HttpMethod.Post, "/models/greeting/rollback", "ada", "ml-admin"));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        using JsonDocument body = await ReadJsonAsync(response);
        Assert.Contains("no previous version", body.RootElement.GetProperty("detail").GetString());
        Assert.Equal("v1", Greeting.GetModel().Text);
    }

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonDocument>() ?? throw new InvalidOperationException("The response had no JSON body.");
}
