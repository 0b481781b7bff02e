using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Fleet;
using ModelCaching.Redis.Tests.Support;
using ModelCaching.Samples.WebApi.Tests.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace ModelCaching.Samples.WebApi.Tests.Fleet;

/// <summary>
/// Three OS processes of the sample API (<c>dotnet ModelCaching.Samples.WebApi.dll --urls …</c>, the fleet configured by
/// environment variables) on one real redis-server, checked only through their HTTP endpoints: a publish reaches all
/// three, a bad version is held back by its canary, and serving survives redis-server being killed. The three processes
/// are shared by the tests of this class (starting them is most of the cost); each test publishes its own version ids
/// and starts from whatever the fleet serves, so the order does not matter.
/// </summary>
[Collection(SampleProcessCollection.Name)]
public sealed class FleetProcessTests(SampleFleet fleet, ITestOutputHelper output) : IClassFixture<SampleFleet>
{
    [Fact]
    public async Task Publish_ThroughOneInstance_EveryProcessServesIt_WithinABoundedTime()
    {
        (byte[] content, string sha256) = await fleet.NotServedModelAsync();
        string versionId = "good-" + Guid.NewGuid().ToString("N")[..8];

        var clock = Stopwatch.StartNew();
        JsonElement published = await fleet.PublishAsync(content, versionId);
        await fleet.UntilAllServeAsync(versionId);
        output.WriteLine($"publish -> all three processes serving {versionId}: {clock.ElapsedMilliseconds} ms (LoadJitter 2 s, the default)");

        Assert.Equal(sha256, published.GetProperty("sha256").GetString());
        foreach (SampleProcess instance in fleet.Instances)
        {
            JsonElement version = (await SampleFleet.ModelStatusAsync(instance)).GetProperty("version");
            Assert.Equal(sha256, version.GetProperty("id").GetString());
            JsonElement prediction = await TaxiTrips.PredictAsync(instance.Client);
            Assert.Equal(sha256, prediction.GetProperty("modelVersion").GetString());
            float expected = sha256 == SampleServer.V2Sha256 ? TaxiTrips.KnownTripFareV2 : TaxiTrips.KnownTripFareV1;
            Assert.InRange(prediction.GetProperty("fareAmount").GetSingle(), expected - TaxiTrips.Tolerance, expected + TaxiTrips.Tolerance);

            JsonElement model = await SampleFleet.FleetModelAsync(instance);
            Assert.Equal(versionId, model.GetProperty("desired").GetProperty("version").GetProperty("versionId").GetString());
            Assert.Equal(0, model.GetProperty("failures").GetArrayLength());
        }
    }

    [Fact]
    public async Task BadVersionWithACanaryShare_TheCanaryKeepsItsModel_TheRolloutStops_TheOthersNeverLoadIt_AndFleetSaysWhy()
    {
        // Start from a version the whole fleet serves, so "the last good model" is known.
        (byte[] good, string goodSha256) = await fleet.NotServedModelAsync();
        string goodVersion = "before-bad-" + Guid.NewGuid().ToString("N")[..8];
        await fleet.PublishAsync(good, goodVersion);
        await fleet.UntilAllServeAsync(goodVersion);

        // iris.zip: a real ML.NET model with another schema; the sample's schema check refuses it.
        string badVersion = "iris-" + Guid.NewGuid().ToString("N")[..8];
        await fleet.PublishAsync(SampleFleet.Iris(), badVersion, canaryShare: 0.3);

        JsonElement rollout = default;
        await fleet.UntilAsync(
            async () =>
            {
                foreach (SampleProcess instance in fleet.Instances)
                {
                    rollout = (await SampleFleet.FleetModelAsync(instance)).GetProperty("desired").GetProperty("rollout");
                    if (rollout.ValueKind != JsonValueKind.Object || rollout.GetProperty("stage").GetString() != "Stopped")
                    {
                        return false;
                    }
                }

                return true;
            },
            $"every instance's GET /fleet says the rollout of {badVersion} stopped");

        string canary = Assert.Single(rollout.GetProperty("canaries").EnumerateArray()).GetString()!;
        string reason = rollout.GetProperty("reason").GetString()!;
        output.WriteLine($"canary {canary}; reason: {reason}");
        Assert.Contains(canary, reason, StringComparison.Ordinal);
        Assert.Contains(badVersion, reason, StringComparison.Ordinal);
        Assert.Equal(goodVersion, rollout.GetProperty("previous").GetProperty("versionId").GetString());

        // The whole fleet (canary included) serves the last good version, per /fleet and per instance.
        await fleet.UntilAllServeAsync(goodVersion);
        for (int i = 0; i < fleet.Instances.Count; i++)
        {
            SampleProcess instance = fleet.Instances[i];
            JsonElement status = await SampleFleet.ModelStatusAsync(instance);
            Assert.Equal(goodSha256, status.GetProperty("version").GetProperty("id").GetString());
            Assert.Equal(goodSha256, (await TaxiTrips.PredictAsync(instance.Client)).GetProperty("modelVersion").GetString());
            JsonElement[] triedBad = [.. status.GetProperty("history").EnumerateArray().Where(a => a.GetProperty("versionId").GetString() == SampleFleet.IrisSha256)];
            if (SampleFleet.InstanceId(i) == canary)
            {
                JsonElement attempt = Assert.Single(triedBad);
                Assert.Equal("Failure", attempt.GetProperty("outcome").GetString());
            }
            else
            {
                Assert.True(triedBad.Length == 0, $"{SampleFleet.InstanceId(i)} is not the canary but tried the bad version: {status}");
            }
        }
    }

    [Fact]
    public async Task RedisKilledMidTraffic_PredictionsGoOnWithoutAFailure_HealthIsDegraded_AndAfterTheRestartEveryProcessCatchesUp()
    {
        await using var predictions = new HttpPredictionLoop(fleet.Instances);
        await predictions.WaitForMoreOnEveryInstanceAsync();
        string redisDirectory = await RedisDirectoryAsync(fleet.Redis);

        fleet.Redis.Kill(); // SIGKILL: no shutdown, no save
        var down = Stopwatch.StartNew();
        foreach (SampleProcess instance in fleet.Instances)
        {
            await fleet.UntilAsync(() => ControlPlaneIsAsync(instance, "Degraded"), $"port {instance.Port}'s readiness reports the fleet's control plane Degraded");
            using HttpResponseMessage status = await SampleFleet.SendAsync(instance, HttpMethod.Get, "/fleet");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status.StatusCode);
        }

        await predictions.WaitForMoreOnEveryInstanceAsync();
        output.WriteLine($"all three reported Degraded {down.ElapsedMilliseconds} ms after SIGKILL; failed predictions so far: {predictions.Failed}");

        // A version published while the instances could not hear it: written into another redis-server, whose snapshot
        // the restarted one loads. No message about it ever reaches the instances; they must read it on reconnect.
        (byte[] content, string sha256) = await fleet.NotServedModelAsync();
        string missed = "missed-" + Guid.NewGuid().ToString("N")[..8];
        await PublishIntoSnapshotAsync(content, missed, redisDirectory);
        await fleet.Redis.StartAgainAsync();

        foreach (SampleProcess instance in fleet.Instances)
        {
            await fleet.UntilAsync(() => ControlPlaneIsAsync(instance, "Healthy"), $"port {instance.Port}'s readiness reports the control plane Healthy again");
        }

        await fleet.UntilAllServeAsync(missed);
        output.WriteLine($"all three caught up with {missed} {down.ElapsedMilliseconds} ms after SIGKILL");
        await predictions.WaitForMoreOnEveryInstanceAsync();

        (long served, long failed) = await predictions.StopAsync();
        output.WriteLine($"predictions: {served} served, {failed} failed");
        Assert.True(failed == 0, $"{failed} predictions failed; the first: {predictions.FirstFailure}");
        Assert.True(served > 0);
        foreach (SampleProcess instance in fleet.Instances)
        {
            Assert.Equal(sha256, (await TaxiTrips.PredictAsync(instance.Client)).GetProperty("modelVersion").GetString());
        }
    }

    /// <summary>The directory the fleet's redis-server loads its snapshot (dump.rdb) from when it starts.</summary>
    private static async Task<string> RedisDirectoryAsync(RedisServer redis)
    {
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
        KeyValuePair<string, string> dir = Assert.Single(await connection.GetServer(connection.GetEndPoints()[0]).ConfigGetAsync("dir"));
        return dir.Value;
    }

    /// <summary>
    /// Publishes <paramref name="content"/> as <paramref name="versionId"/> to this fleet on a scratch redis-server (with the
    /// library's own <c>AddRedisFleet</c>, as the command-line tool does), saves that server's snapshot and copies it into
    /// <paramref name="directory"/>, where the fleet's redis-server loads it when it starts.
    /// </summary>
    private async Task PublishIntoSnapshotAsync(byte[] content, string versionId, string directory)
    {
        await using RedisServer scratch = await RedisServer.StartAsync();
        var services = new ServiceCollection();
        services.AddModelCache().AddRedisFleet(o =>
        {
            o.Configuration = scratch.Configuration;
            o.FleetName = fleet.FleetName;
        });
        await using (ServiceProvider publisher = services.BuildServiceProvider())
        {
            await publisher.GetRequiredService<IModelFleet>().PublishAsync(SampleFleet.ModelName, content, new FleetPublishOptions { VersionId = versionId });
        }

        Assert.Equal("+OK", await scratch.CommandAsync("SAVE"));
        File.Copy(Path.Combine(await RedisDirectoryAsync(scratch), "dump.rdb"), Path.Combine(directory, "dump.rdb"), overwrite: true);
    }

    /// <summary>Whether <c>GET /health/ready</c> answers 200 (the model serves) with the fleet check in <paramref name="status"/>.</summary>
    private static async Task<bool> ControlPlaneIsAsync(SampleProcess instance, string status)
    {
        using HttpResponseMessage response = await instance.Client.GetAsync("/health/ready");
        JsonElement report = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        JsonElement checks = report.GetProperty("checks");
        return response.StatusCode == HttpStatusCode.OK
            && checks.GetProperty("modelcache-fleet").GetProperty("status").GetString() == status
            && checks.GetProperty("modelcache:taxi-fare").GetProperty("status").GetString() == "Healthy"
            && report.GetProperty("status").GetString() == status;
    }
}
