using System.Net.Http.Headers;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelCaching.AspNetCore.Tests.Support;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>
/// An admin application on Kestrel (127.0.0.1, a free port) that maps the fleet's endpoints behind the "ModelAdmin"
/// policy (role ml-admin): a process of the fleet with no models of its own, as an admin service would be. Callers
/// authenticate with test headers (<c>X-Test-User</c>, <c>X-Test-Role</c>).
/// </summary>
public sealed class FleetAdminServer : IAsyncDisposable
{
    public const string AdminPolicy = "ModelAdmin";

    private FleetAdminServer(WebApplication app, HttpClient client)
    {
        App = app;
        Client = client;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public static async Task<FleetAdminServer> StartAsync(string configuration, string fleetName, long maxPublishBytes = 16L * 1024 * 1024)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication(HeaderAuthenticationHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, HeaderAuthenticationHandler>(HeaderAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder().AddPolicy(AdminPolicy, policy => policy.RequireRole("ml-admin"));
        builder.Services.AddModelCache().AddRedisFleet(o =>
        {
            o.Configuration = configuration;
            o.FleetName = fleetName;
            o.InstanceId = "admin";
        });

        WebApplication app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapModelFleetEndpoints(AdminPolicy, maxPublishBytes: maxPublishBytes);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new FleetAdminServer(app, new HttpClient { BaseAddress = new Uri(address), Timeout = Eventually.Timeout });
    }

    public static HttpRequestMessage Request(HttpMethod method, string path, string? user = "ada", string? role = "ml-admin", HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (user is not null)
        {
            request.Headers.Add("X-Test-User", user);
        }

        if (role is not null)
        {
            request.Headers.Add("X-Test-Role", role);
        }

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
