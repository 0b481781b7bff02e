using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelCaching.AspNetCore.Tests.Support;

namespace ModelCaching.AspNetCore.Tests;

public sealed class ModelCacheHealthChecksTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Ready_BeforeEagerModelLoads_Returns503_AndAfterItLoads_Returns200()
    {
        var releaseLoad = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(
            services =>
            {
                services.AddModelCache().AddModel<TextModel>("greeting", model => model
                    .FromSource(new TextModelSource("hello"))
                    .UseLoader(async (artifact, ct) =>
                    {
                        await releaseLoad.Task.WaitAsync(ct);
                        return await TextModel.LoadAsync(artifact, ct);
                    })
                    .Eager());
                services.AddHealthChecks().AddModelCache(tags: [ModelCacheHealthChecks.ReadyTag]);
            },
            app => app.MapModelCacheHealthChecks());
        IModelCache<TextModel> cache = server.Services.GetRequiredKeyedService<IModelCache<TextModel>>("greeting");
        var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Reloaded += (_, _) => loaded.TrySetResult();

        using HttpResponseMessage before = await server.Client.GetAsync("/health/ready");
        using JsonDocument beforeBody = await ReadJsonAsync(before);

        releaseLoad.SetResult();
        await loaded.Task.WaitAsync(Timeout);
        using HttpResponseMessage after = await server.Client.GetAsync("/health/ready");
        using JsonDocument afterBody = await ReadJsonAsync(after);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        Assert.Equal("Unhealthy", beforeBody.RootElement.GetProperty("status").GetString());
        Assert.Contains("not loaded yet", beforeBody.RootElement.GetProperty("checks").GetProperty("modelcache").GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        JsonElement check = afterBody.RootElement.GetProperty("checks").GetProperty("modelcache");
        Assert.Equal("Healthy", check.GetProperty("status").GetString());
        Assert.Equal(cache.Version!.Id, check.GetProperty("data").GetProperty("greeting").GetProperty("version").GetString());
        Assert.Equal(["ready"], check.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task Ready_AfterFailedReload_Returns200Degraded_WhileLastGoodModelServes()
    {
        var source = new TextModelSource("hello");
        await using TestServer server = await StartWithModelAsync(source);
        IModelCache<TextModel> cache = server.Services.GetRequiredKeyedService<IModelCache<TextModel>>("greeting");
        await cache.GetModelAsync();
        source.Content = "corrupt";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        using HttpResponseMessage response = await server.Client.GetAsync("/health/ready");
        using JsonDocument body = await ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Degraded", body.RootElement.GetProperty("status").GetString());
        Assert.Contains("corrupt", body.RootElement.GetProperty("checks").GetProperty("modelcache").GetProperty("description").GetString());
        Assert.Equal("hello", cache.GetModel().Text);
    }

    [Fact]
    public async Task Live_WhenNoModelCanLoad_StillReturns200_BecauseARestartWouldNotHelp()
    {
        await using TestServer server = await StartWithModelAsync(new TextModelSource("corrupt"));
        IModelCache<TextModel> cache = server.Services.GetRequiredKeyedService<IModelCache<TextModel>>("greeting");
        await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        using HttpResponseMessage live = await server.Client.GetAsync("/health/live");
        using HttpResponseMessage ready = await server.Client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    [Fact]
    public async Task MapModelCacheHealthChecks_WithoutAddHealthChecks_ThrowsSayingWhatToAdd()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestServer.StartAsync(
            services => services.AddModelCache(),
            app => app.MapModelCacheHealthChecks()));

        Assert.Contains("services.AddHealthChecks().AddModelCache(tags: [ModelCacheHealthChecks.ReadyTag])", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MapModelCacheHealthChecks_WithNoCheckTaggedReady_ThrowsInsteadOfAnAlwaysHealthyProbe()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestServer.StartAsync(
            services =>
            {
                services.AddModelCache().AddModel<TextModel>("greeting", model => model.FromSource(new TextModelSource("v1")).UseLoader(TextModel.LoadAsync));
                services.AddHealthChecks().AddModelCache();
            },
            app => app.MapModelCacheHealthChecks()));

        Assert.Contains("no health check is tagged 'ready'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddModelCacheHealthCheck_WithoutTheModelCache_FailsTheStartSayingWhatToAdd()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartAsync(
            services => services.AddHealthChecks().AddModelCache(tags: [ModelCacheHealthChecks.ReadyTag]),
            app => app.MapHealthChecks("/health")));

        Assert.Contains("call services.AddModelCache()", error.Message, StringComparison.Ordinal);
    }

    private static Task<TestServer> StartWithModelAsync(TextModelSource source) =>
        TestServer.StartAsync(
            services =>
            {
                services.AddModelCache().AddModel<TextModel>("greeting", model => model.FromSource(source).UseLoader(TextModel.LoadAsync));
                services.AddHealthChecks().AddModelCache(tags: [ModelCacheHealthChecks.ReadyTag]);
            },
            app => app.MapModelCacheHealthChecks());

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonDocument>() ?? throw new InvalidOperationException("The response had no JSON body.");
}
