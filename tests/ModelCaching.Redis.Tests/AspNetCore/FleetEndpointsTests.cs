using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.AspNetCore;

/// <summary>
/// The fleet's admin endpoints (ModelCaching.AspNetCore, through <see cref="IModelFleet"/>) on Kestrel, against three
/// instances of a fleet on the real redis-server.
/// </summary>
public sealed class FleetEndpointsTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Model = FleetHost.ModelName;

    [Fact]
    public async Task Publish_ReachesEveryInstance_AndGetFleet_ShowsWhoServesWhat()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await using FleetAdminServer admin = await FleetAdminServer.StartAsync(redis.Server.Configuration, fleet.Name);

        using HttpResponseMessage published = await admin.Client.SendAsync(FleetAdminServer.Request(HttpMethod.Post, $"/fleet/models/{Model}/publish?versionId=v1", content: new ByteArrayContent("hello v1"u8.ToArray())));
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        using (JsonDocument version = await JsonAsync(published))
        {
            Assert.Equal("v1", version.RootElement.GetProperty("versionId").GetString());
            Assert.Equal("Store", version.RootElement.GetProperty("storage").GetString());
            Assert.Equal("ada", version.RootElement.GetProperty("publishedBy").GetString());
        }

        await fleet.WaitForVersionAsync("v1");
        Assert.All(fleet.Hosts, h => Assert.Equal("hello v1", h.Cache.GetModel()));

        using JsonDocument status = await GetFleetAsync(admin, s => Models(s) is [var m] && m.GetProperty("serving") is { ValueKind: JsonValueKind.Array } serving && serving.GetArrayLength() == 1 && serving[0].GetProperty("instances").GetInt32() == 3);
        JsonElement model = Models(status)[0];
        Assert.Equal(Model, model.GetProperty("name").GetString());
        Assert.Equal("v1", model.GetProperty("serving")[0].GetProperty("versionId").GetString());
        Assert.Equal("v1", model.GetProperty("desired").GetProperty("version").GetProperty("versionId").GetString());
        Assert.Equal(0, model.GetProperty("failures").GetArrayLength());
        Assert.Equal(fleet.Name, status.RootElement.GetProperty("fleetName").GetString());
        Assert.Equal(["instance-0", "instance-1", "instance-2"], status.RootElement.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("instanceId").GetString()));
    }

    [Fact]
    public async Task EveryFleetEndpoint_NeedsTheAdminPolicy()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, instances: 1);
        await using FleetAdminServer admin = await FleetAdminServer.StartAsync(redis.Server.Configuration, fleet.Name);

        foreach ((HttpMethod method, string path) in new (HttpMethod, string)[] { (HttpMethod.Get, "/fleet"), (HttpMethod.Post, $"/fleet/models/{Model}/publish"), (HttpMethod.Post, $"/fleet/models/{Model}/rollback"), (HttpMethod.Post, $"/fleet/models/{Model}/pin"), (HttpMethod.Post, $"/fleet/models/{Model}/unpin"), (HttpMethod.Post, $"/fleet/models/{Model}/promote"), (HttpMethod.Post, $"/fleet/models/{Model}/abort") })
        {
            using HttpResponseMessage anonymous = await admin.Client.SendAsync(FleetAdminServer.Request(method, path, user: null, role: null, content: new ByteArrayContent("x"u8.ToArray())));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            using HttpResponseMessage reader = await admin.Client.SendAsync(FleetAdminServer.Request(method, path, role: "ml-reader", content: new ByteArrayContent("x"u8.ToArray())));
            Assert.Equal(HttpStatusCode.Forbidden, reader.StatusCode);
        }

        Assert.Null(await fleet.Control.GetDesiredVersionAsync(Model));
    }

    [Fact]
    public async Task ABadCanary_StopsTheRollout_AndGetFleet_SaysWhy_WhilePromoteIsRefused()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await using FleetAdminServer admin = await FleetAdminServer.StartAsync(redis.Server.Configuration, fleet.Name);
        (await admin.Client.SendAsync(FleetAdminServer.Request(HttpMethod.Post, $"/fleet/models/{Model}/publish?versionId=good", content: new ByteArrayContent("good v1"u8.ToArray())))).EnsureSuccessStatusCode();
        await fleet.WaitForVersionAsync("good");
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count(m => m.Models.Count > 0 && m.Models[0].ServedVersionId == "good") == 3, "three instances report good");

        using HttpResponseMessage canary = await admin.Client.SendAsync(FleetAdminServer.Request(HttpMethod.Post, $"/fleet/models/{Model}/publish?versionId=bad&canary=0.25", content: new ByteArrayContent("bad v2"u8.ToArray())));
        Assert.Equal(HttpStatusCode.Created, canary.StatusCode);

        using JsonDocument status = await GetFleetAsync(admin, s => Models(s) is [var m] && m.GetProperty("desired").GetProperty("rollout").GetProperty("stage").GetString() == "Stopped");
        JsonElement rollout = Models(status)[0].GetProperty("desired").GetProperty("rollout");
        string canaryId = Assert.Single(rollout.GetProperty("canaries").EnumerateArray()).GetString()!;
        Assert.Contains($"canary {canaryId} failed to load version bad", rollout.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("the validator rejects 'bad v2'", rollout.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("good", rollout.GetProperty("previous").GetProperty("versionId").GetString());
        Assert.All(fleet.Hosts, h => Assert.Equal("good v1", h.Cache.GetModel()));

        using HttpResponseMessage promote = await admin.Client.SendAsync(FleetAdminServer.Request(HttpMethod.Post, $"/fleet/models/{Model}/promote"));
        Assert.Equal(HttpStatusCode.Conflict, promote.StatusCode);
        using JsonDocument problem = await JsonAsync(promote);
        Assert.Contains("stopped", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CanaryPromoteAbortRollbackPinUnpin_ThroughTheEndpoints()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await using FleetAdminServer admin = await FleetAdminServer.StartAsync(redis.Server.Configuration, fleet.Name);
        await PostAsync(admin, $"/fleet/models/{Model}/publish?versionId=one", new ByteArrayContent("one"u8.ToArray()), HttpStatusCode.Created);
        await fleet.WaitForVersionAsync("one");
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count(m => m.Models.Count > 0 && m.Models[0].ServedVersionId == "one") == 3, "three instances report one");

        // Canary, then promote.
        await PostAsync(admin, $"/fleet/models/{Model}/publish?versionId=two&canary=0.5", new ByteArrayContent("two"u8.ToArray()), HttpStatusCode.Created);
        using (JsonDocument promoted = await PostAsync(admin, $"/fleet/models/{Model}/promote", null, HttpStatusCode.OK))
        {
            Assert.Equal("Promoted", promoted.RootElement.GetProperty("rollout").GetProperty("stage").GetString());
            Assert.Equal("Promote", promoted.RootElement.GetProperty("action").GetString());
        }

        await fleet.WaitForVersionAsync("two");

        // Canary, then abort: the canary goes back.
        await PostAsync(admin, $"/fleet/models/{Model}/publish?versionId=three&canary=0.3", new ByteArrayContent("three"u8.ToArray()), HttpStatusCode.Created);
        using (JsonDocument aborted = await PostAsync(admin, $"/fleet/models/{Model}/abort?reason=error%20rate", null, HttpStatusCode.OK))
        {
            Assert.Equal("Aborted", aborted.RootElement.GetProperty("rollout").GetProperty("stage").GetString());
            Assert.Equal("error rate", aborted.RootElement.GetProperty("rollout").GetProperty("reason").GetString());
        }

        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Serving: [{ VersionId: "two", Instances: 3 }] }], "every instance serves two after the abort");

        // Rollback from what the fleet serves (two) to one; pin and unpin.
        using (JsonDocument rolledBack = await PostAsync(admin, $"/fleet/models/{Model}/rollback", null, HttpStatusCode.OK))
        {
            Assert.Equal("one", rolledBack.RootElement.GetProperty("version").GetProperty("versionId").GetString());
        }

        await fleet.WaitForVersionAsync("one");
        using (JsonDocument pinned = await PostAsync(admin, $"/fleet/models/{Model}/pin?versionId=two", null, HttpStatusCode.OK))
        {
            Assert.True(pinned.RootElement.GetProperty("pinned").GetBoolean());
        }

        await fleet.WaitForVersionAsync("two");

        // Unpin follows publishes again, but not to three: its rollout was aborted, so it stays withdrawn (carried through
        // the rollback and the pin) and unpin goes to the newest version that was not, two. Before the withdrawn list,
        // unpin took three, and sent it to every instance with no canary stage.
        using (JsonDocument unpinned = await PostAsync(admin, $"/fleet/models/{Model}/unpin", null, HttpStatusCode.OK))
        {
            Assert.Equal("two", unpinned.RootElement.GetProperty("version").GetProperty("versionId").GetString());
            Assert.Equal(["three"], unpinned.RootElement.GetProperty("withdrawn").EnumerateArray().Select(e => e.GetString()));
        }

        // GET /fleet shows the desired record, with the versions withdrawn.
        using (JsonDocument status = await GetFleetAsync(admin, s => Models(s) is [var m] && m.GetProperty("desired").GetProperty("action").GetString() == "Unpin"))
        {
            Assert.Equal(["three"], Models(status)[0].GetProperty("desired").GetProperty("withdrawn").EnumerateArray().Select(e => e.GetString()));
        }

        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Serving: [{ VersionId: "two", Instances: 3 }] }], "every instance serves two after the unpin");
        using JsonDocument unknown = await PostAsync(admin, $"/fleet/models/{Model}/pin?versionId=never", null, HttpStatusCode.Conflict);
        Assert.Contains("'never' is not one the fleet keeps", unknown.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_ByLocation_AndBadRequests()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, instances: 1);
        await using FleetAdminServer admin = await FleetAdminServer.StartAsync(redis.Server.Configuration, fleet.Name, maxPublishBytes: 64);
        using var directory = new TempDirectory();
        string file = directory.File("shared.txt");
        await File.WriteAllTextAsync(file, "hello from a shared volume");
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(file)));

        using JsonDocument version = await PostAsync(admin, $"/fleet/models/{Model}/publish?versionId=shared", JsonContent.Create(new { location = file, sha256 = sha, sizeBytes = new FileInfo(file).Length }), HttpStatusCode.Created);
        Assert.Equal("Location", version.RootElement.GetProperty("storage").GetString());
        await fleet.WaitForVersionAsync("shared");
        Assert.Equal("hello from a shared volume", fleet.Hosts[0].Cache.GetModel());

        await PostAsync(admin, $"/fleet/models/{Model}/publish", new ByteArrayContent(new byte[65]), HttpStatusCode.RequestEntityTooLarge);
        await PostAsync(admin, $"/fleet/models/{Model}/publish?canary=2", new ByteArrayContent("x"u8.ToArray()), HttpStatusCode.BadRequest);
        await PostAsync(admin, $"/fleet/models/{Model}/publish?versionId=bad:id", new ByteArrayContent("x"u8.ToArray()), HttpStatusCode.BadRequest);
        await PostAsync(admin, $"/fleet/models/{Model}/publish?versionId=shared", new ByteArrayContent("x"u8.ToArray()), HttpStatusCode.Conflict);
        await PostAsync(admin, $"/fleet/models/{Model}/publish", JsonContent.Create(new { sha256 = sha }), HttpStatusCode.BadRequest);
        await PostAsync(admin, $"/fleet/models/{Model}/promote", null, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task RedisDown_GetFleetAnswers503_AndMappingWithoutAFleetThrows()
    {
        await using RedisServer server = await RedisServer.StartAsync();
        await using FleetAdminServer admin = await FleetAdminServer.StartAsync(server.Configuration, "down");
        server.Kill();

        using HttpResponseMessage response = await admin.Client.SendAsync(FleetAdminServer.Request(HttpMethod.Get, "/fleet"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using JsonDocument problem = await JsonAsync(response);
        Assert.Contains("control plane did not answer", problem.RootElement.GetProperty("title").GetString(), StringComparison.Ordinal);

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddAuthorizationBuilder().AddPolicy("ModelAdmin", p => p.RequireRole("ml-admin"));
        await using WebApplication app = builder.Build();
        InvalidOperationException missing = Assert.Throws<InvalidOperationException>(() => app.MapModelFleetEndpoints("ModelAdmin"));
        Assert.Contains("AddRedisFleet", missing.Message, StringComparison.Ordinal);
    }

    private static async Task<JsonDocument> PostAsync(FleetAdminServer admin, string path, HttpContent? content, HttpStatusCode expected)
    {
        using HttpResponseMessage response = await admin.Client.SendAsync(FleetAdminServer.Request(HttpMethod.Post, path, content: content));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"POST {path}: expected {expected}, got {response.StatusCode}: {body}");
        return JsonDocument.Parse(body.Length == 0 ? "{}" : body);
    }

    private static async Task<JsonDocument> JsonAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync());

    private static JsonElement[] Models(JsonDocument status) => [.. status.RootElement.GetProperty("models").EnumerateArray()];

    // GET /fleet until the condition holds (instances report through Redis on their own loops), bounded.
    private static async Task<JsonDocument> GetFleetAsync(FleetAdminServer admin, Func<JsonDocument, bool> condition)
    {
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        while (true)
        {
            using HttpResponseMessage response = await admin.Client.SendAsync(FleetAdminServer.Request(HttpMethod.Get, "/fleet"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            JsonDocument status = await JsonAsync(response);
            if (condition(status))
            {
                return status;
            }

            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"GET /fleet did not reach the expected state within {Eventually.Timeout}: {status.RootElement}");
            }

            status.Dispose();
            await Task.Delay(10, CancellationToken.None);
        }
    }
}
