using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelCaching.Redis.Instance;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.AspNetCore;

/// <summary>
/// Placement through HTTP on Kestrel and a real redis-server: with <c>AddModelCacheProblemDetails()</c>, a request for a
/// placed name another instance owns is a 421 problem naming the model and the owners; <c>GET /fleet</c> shows each
/// member's loaded placed models and its budget's memory.
/// </summary>
public sealed class PlacementEndpointsTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task ARequestForANameAnotherInstanceOwns_Is421_NamingTheModelAndTheOwners_AndAnOwnedNameIs200()
    {
        using var directory = new TempDirectory();
        string fleetName = "placed-http-" + Guid.NewGuid().ToString("N")[..12];
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using PlacedHost other = await PlacedHost.StartAsync(redis.Server.Configuration, fleetName, "other", time, directory.Path, replicas: 1);

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddModelCacheProblemDetails();
        builder.Services.AddModelCache()
            .AddModelTemplate<string>(PlacedHost.Template, t => t.FromFile(Path.Combine(directory.Path, "{name}.txt")).UseLoader((artifact, _) => ValueTask.FromResult(Encoding.UTF8.GetString(artifact.Content.Span))))
            .AddRedisFleet(o =>
            {
                o.Configuration = redis.Server.Configuration;
                o.FleetName = fleetName;
                o.InstanceId = "web";
                o.Address = "http://web.test:5000";
                o.Placement.Templates.Add(PlacedHost.Template);
                o.Placement.Replicas = 1;
            });
        await using WebApplication app = builder.Build();
        app.UseExceptionHandler();
        app.MapGet("/tenants/{name}", async (string name, IModelCacheProvider models) => await models.GetCache<string>(name).GetModelAsync());
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First()), Timeout = Eventually.Timeout };

        InstancePlacement web = app.Services.GetRequiredService<InstancePlacement>();
        FleetAgent agent = app.Services.GetRequiredService<FleetAgent>();
        for (int round = 0; round < 2; round++)
        {
            long rounds = web.Rounds;
            agent.RequestReport();
            await Eventually.TrueAsync(() => web.Rounds > rounds, "web read the membership");
            await other.RoundAsync();
        }

        string[] ids = ["other", "web"];
        string theirs = Enumerable.Range(0, 50).Select(i => $"tenant-{i}").First(n => FleetPlacement.Owners(n, ids, 1)[0] == "other");
        string ours = Enumerable.Range(0, 50).Select(i => $"tenant-{i}").First(n => FleetPlacement.Owners(n, ids, 1)[0] == "web");
        await File.WriteAllTextAsync(Path.Combine(directory.Path, theirs + ".txt"), theirs + " v1");
        await File.WriteAllTextAsync(Path.Combine(directory.Path, ours + ".txt"), ours + " v1");

        using HttpResponseMessage misdirected = await client.GetAsync($"/tenants/{theirs}");
        Assert.Equal(HttpStatusCode.MisdirectedRequest, misdirected.StatusCode);
        Assert.Equal("application/problem+json", misdirected.Content.Headers.ContentType?.MediaType);
        using JsonDocument problem = JsonDocument.Parse(await misdirected.Content.ReadAsStringAsync());
        Assert.Equal(421, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(theirs, problem.RootElement.GetProperty("model").GetString());
        Assert.Equal("web", problem.RootElement.GetProperty("instance").GetString());
        JsonElement owner = Assert.Single(problem.RootElement.GetProperty("owners").EnumerateArray());
        Assert.Equal("other", owner.GetProperty("id").GetString());
        Assert.Equal(other.Address, owner.GetProperty("address").GetString());
        Assert.False(misdirected.Headers.Contains("Retry-After"));
        Assert.DoesNotContain(theirs, app.Services.GetRequiredService<IModelCacheProvider>().Names);

        using HttpResponseMessage served = await client.GetAsync($"/tenants/{ours}");
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal($"{ours} v1", await served.Content.ReadAsStringAsync());
        Assert.Equal($"{theirs} v1", await other.GetAsync(theirs));

        // GET /fleet (an admin application of the same fleet) shows each member's loaded placed models and memory.
        await using FleetAdminServer admin = await FleetAdminServer.StartAsync(redis.Server.Configuration, fleetName);
        await other.RoundAsync();
        long before = web.Rounds;
        agent.RequestReport();
        await Eventually.TrueAsync(() => web.Rounds > before, "web wrote its entry");
        using HttpResponseMessage fleet = await admin.Client.SendAsync(FleetAdminServer.Request(HttpMethod.Get, "/fleet"));
        Assert.Equal(HttpStatusCode.OK, fleet.StatusCode);
        using JsonDocument status = JsonDocument.Parse(await fleet.Content.ReadAsStringAsync());
        Dictionary<string, JsonElement> members = status.RootElement.GetProperty("members").EnumerateArray().ToDictionary(m => m.GetProperty("instanceId").GetString()!);
        Assert.Equal([ours], members["web"].GetProperty("placedModels").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([theirs], members["other"].GetProperty("placedModels").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("http://web.test:5000", members["web"].GetProperty("address").GetString());
        Assert.Equal(1, members["web"].GetProperty("replicas").GetInt32());
        Assert.True(members["web"].TryGetProperty("memoryUsedBytes", out _));
        await app.StopAsync();
    }
}
