using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.AspNetCore.Tests.Support;

namespace ModelCaching.AspNetCore.Tests;

public sealed class ModelCacheEndpointMappingTests
{
    [Fact]
    public async Task Map_WithoutAuthorizationPolicy_ThrowsExplainingThatEndpointsAreNeverOpen()
    {
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(app => app.MapModelCacheEndpoints(_ => { })));

        Assert.Contains("needs an authorization policy", exception.Message);
        Assert.Contains("never open by default", exception.Message);
    }

    [Fact]
    public async Task Map_WithUnregisteredPolicy_ThrowsNamingThePolicy()
    {
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(app => app.MapModelCacheEndpoints("ModelAdmn")));

        Assert.Contains("'ModelAdmn'", exception.Message);
        Assert.Contains("is not registered", exception.Message);
    }

    [Fact]
    public async Task Map_WithUnregisteredStatusPolicy_ThrowsNamingTheField()
    {
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(app => app.MapModelCacheEndpoints(options =>
        {
            options.AuthorizationPolicy = TestServer.AdminPolicy;
            options.StatusAuthorizationPolicy = "Readers";
        })));

        Assert.Contains("'Readers' (StatusAuthorizationPolicy)", exception.Message);
    }

    [Fact]
    public async Task Map_WithoutAddModelCache_ThrowsNamingTheMissingRegistration()
    {
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(app => app.MapModelCacheEndpoints(TestServer.AdminPolicy), addModelCache: false));

        Assert.Contains("services.AddModelCache()", exception.Message);
    }

    [Fact]
    public async Task AllowAnonymousStatus_LetsAnyoneReadStatus_ButReloadStillRequiresThePolicy()
    {
        await using TestServer server = await StartAsync(app => app.MapModelCacheEndpoints(options =>
        {
            options.AuthorizationPolicy = TestServer.AdminPolicy;
            options.AllowAnonymousStatus = true;
        }));

        using HttpResponseMessage status = await server.Client.SendAsync(TestServer.Request(HttpMethod.Get, "/models"));
        using HttpResponseMessage one = await server.Client.SendAsync(TestServer.Request(HttpMethod.Get, "/models/greeting"));
        using HttpResponseMessage reload = await server.Client.SendAsync(TestServer.Request(HttpMethod.Post, "/models/greeting/reload"));

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, reload.StatusCode);
    }

    [Fact]
    public async Task StatusAuthorizationPolicy_LetsReadersSeeStatus_ButNotReload()
    {
        await using TestServer server = await StartAsync(app => app.MapModelCacheEndpoints(options =>
        {
            options.AuthorizationPolicy = TestServer.AdminPolicy;
            options.StatusAuthorizationPolicy = TestServer.ReaderPolicy;
            options.Pattern = "/admin/models";
        }));

        using HttpResponseMessage status = await server.Client.SendAsync(TestServer.Request(HttpMethod.Get, "/admin/models", "rita", "ml-reader"));
        using HttpResponseMessage reload = await server.Client.SendAsync(TestServer.Request(HttpMethod.Post, "/admin/models/greeting/reload", "rita", "ml-reader"));

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, reload.StatusCode);
    }

    [Fact]
    public void HistoryLength_Negative_IsRejectedAtOnce()
    {
        var options = new ModelCacheEndpointOptions();

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => options.HistoryLength = -1);

        Assert.Equal("value", exception.ParamName);
        Assert.Equal(10, options.HistoryLength);
    }

    private static Task<TestServer> StartAsync(Action<WebApplication> map, bool addModelCache = true) =>
        TestServer.StartAsync(
            services =>
            {
                if (addModelCache)
                {
                    services.AddModelCache().AddModel<TextModel>("greeting", model => model.FromSource(new TextModelSource("hello")).UseLoader(TextModel.LoadAsync));
                }
            },
            map);
}
