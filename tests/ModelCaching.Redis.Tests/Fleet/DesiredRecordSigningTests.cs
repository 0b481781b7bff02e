using System.Text.Json.Nodes;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using ModelCaching.Redis.Tests.Support;
using StackExchange.Redis;

namespace ModelCaching.Redis.Tests.Fleet;

/// <summary>
/// A client that can write to Redis but has no signing key changes the desired record itself (not a version record): it
/// promotes a rollout, points the fleet at an older signed version, writes back an older signed record, or strips the
/// signature. Every instance refuses, keeps what it serves, and says so in its log, its health and <c>/fleet</c>.
/// </summary>
public sealed class DesiredRecordSigningTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Model = FleetHost.ModelName;
    private static readonly string Key = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    [Theory]
    [InlineData("stage", "the desired record's signature does not match")]
    [InlineData("version", "the desired record's signature does not match")]
    [InlineData("replay", "is older than revision")]
    [InlineData("unsigned", "the desired record is not signed")]
    public async Task ADesiredRecordChangedWithoutTheKey_IsRefused_ServingIsUntouched_AndEveryInstanceSaysWhy(string tampering, string reason)
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, configure: o => o.SigningKey = Key);
        await fleet.Control.PublishAsync(Model, "one"u8.ToArray(), new FleetPublishOptions { VersionId = "one" });
        await fleet.WaitForVersionAsync("one");
        RedisKey key = fleet.Hosts[0].Agent.Settings.Keys.Desired(Model);
        await using ConnectionMultiplexer rogue = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration);
        IDatabase db = rogue.GetDatabase();
        string first = (await db.StringGetAsync(key)).ToString();

        // A rollout at the canary stage: one canary serves "two", the others stay on "one".
        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.25 });
        FleetDesiredVersion rollout = (await fleet.Control.GetDesiredVersionAsync(Model))!;
        FleetHost canary = fleet.Hosts.Single(h => h.InstanceId == Assert.Single(rollout.Rollout!.Canaries));
        await canary.WaitForVersionAsync("two");
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3 && s.Members.All(m => m.Models is [{ DesiredVersionId: "one" or "two", LastError: null }] && m.Models[0].ServedVersionId == m.Models[0].DesiredVersionId), "the canary serves two, the others one");
        string[] served = [.. fleet.Hosts.Select(h => h.Cache.GetModel())];
        int[] loads = [.. fleet.Hosts.Select(h => h.Loads)];

        JsonNode record = JsonNode.Parse((await db.StringGetAsync(key)).ToString())!;
        string tampered = tampering switch
        {
            "stage" => Set(record, r => r["rollout"]!["stage"] = "Promoted"), // every instance would load "two"
            "version" => Set(record, r => r["version"] = JsonNode.Parse(first)!["version"]!.DeepClone()), // the canary would go back to "one"
            "replay" => first, // signed, but an older revision: the canary would go back to "one"
            _ => Set(record, r => r.AsObject().Remove("signature")),
        };
        await db.StringSetAsync(key, tampered);
        await db.PublishAsync(fleet.Hosts[0].Agent.Settings.Keys.Changes, Model);
        await Task.WhenAll(fleet.Hosts.Select(h => h.ReconcileNowAsync()));

        FleetStatus status = await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3 && s.Members.All(m => m.Models[0].LastError?.Contains(reason, StringComparison.Ordinal) == true), $"every instance reported the refusal ({reason})");
        Assert.All(status.Members, m => Assert.StartsWith("refused the desired record: ", m.Models[0].LastError, StringComparison.Ordinal));
        for (int i = 0; i < fleet.Hosts.Count; i++)
        {
            FleetHost host = fleet.Hosts[i];
            Assert.Equal(served[i], host.Cache.GetModel());
            Assert.Equal(loads[i], host.Loads);
            Assert.False(host.Agent.Models.Single().LoadScheduled);
            Assert.Equal(HealthStatus.Degraded, await host.FleetHealthAsync());
            Assert.Contains(host.Logs.GetSnapshot(), r => r.Level == LogLevel.Error && r.Message.Contains("refused the desired version", StringComparison.Ordinal) && r.Message.Contains(reason, StringComparison.Ordinal));
        }

        // A publisher with the key does not build on a record that fails its check: no rollout is at the canary stage to promote.
        await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.Control.PromoteAsync(Model));

        // A signed change replaces the refused record (a publish does not build on a record that fails its check). After
        // the replay, Redis holds the first record: the next revision is the greater of its + 1 and the clock, so the clock
        // must have moved past the second's (a real one has, by far; the fake one is moved).
        fleet.Time.Advance(TimeSpan.FromMilliseconds(5));
        await fleet.Control.PublishAsync(Model, "three"u8.ToArray(), new FleetPublishOptions { VersionId = "three" });
        await fleet.WaitForVersionAsync("three");
        foreach (FleetHost host in fleet.Hosts)
        {
            await Eventually.TrueAsync(async () => await host.FleetHealthAsync() == HealthStatus.Healthy, "a signed publish ends the refusal");
        }
    }

    [Fact]
    public void Signer_RefusesADesiredRecordChangedInAnyFieldAnInstanceActsOn()
    {
        var signer = new Records.RecordSigner(Convert.FromBase64String(Key), "prod");
        FleetVersion Version(string id) => signer.Sign(new FleetVersion { Model = "m", VersionId = id, Sha256 = new string('a', 64), SizeBytes = 1, Storage = FleetContentStorage.Store, PublishedBy = "me", PublishedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000) });
        FleetDesiredVersion desired = signer.Sign(new FleetDesiredVersion
        {
            Version = Version("v2"),
            Action = FleetAction.Publish,
            ChangedBy = "me",
            ChangedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_001),
            Revision = 1_700_000_000_001,
            Rollout = new FleetRollout { Stage = FleetRolloutStage.Canary, CanaryShare = 0.25, Canaries = ["a"], Previous = Version("v1") },
        });

        Assert.Null(signer.Refusal(desired, desired.Version));
        FleetDesiredVersion[] changed =
        [
            desired with { Version = Version("v1") },
            desired with { Pinned = true },
            desired with { Action = FleetAction.Promote },
            desired with { Revision = desired.Revision + 1 },
            desired with { ChangedBy = "someone" },
            desired with { ChangedAt = desired.ChangedAt.AddTicks(1) },
            desired with { Rollout = null },
            desired with { Rollout = desired.Rollout! with { Stage = FleetRolloutStage.Promoted } },
            desired with { Rollout = desired.Rollout! with { Canaries = ["a", "b"] } },
            desired with { Rollout = desired.Rollout! with { CanaryShare = 0.5 } },
            desired with { Rollout = desired.Rollout! with { Previous = Version("v0") } },
            desired with { Rollout = desired.Rollout! with { Reason = "stopped" } },
            desired with { Withdrawn = ["v1"] },
        ];
        Assert.All(changed, c => Assert.Contains("signature does not match", signer.Refusal(c, c.Version), StringComparison.Ordinal));
        Assert.Contains("not signed", signer.Refusal(desired with { Signature = null }, desired.Version), StringComparison.Ordinal);
        Assert.NotNull(new Records.RecordSigner(Convert.FromBase64String(Key), "staging").Refusal(desired, desired.Version));

        // The desired record's signature holds, but the version it targets was not signed with the key.
        Assert.Contains("the record is not signed", signer.Refusal(desired, desired.Version with { Signature = null }), StringComparison.Ordinal);
    }

    [Fact]
    public void Signer_ARecordWrittenBeforeTheWithdrawnList_StillVerifies_AndEachWithdrawnVersionIsSigned()
    {
        // A stopped rollout as a writer before the list signed it (no "withdrawn" in the JSON); its signature was computed
        // apart from RecordSigner, from the canonical form of that time (length-prefixed fields, HMAC-SHA256 of the key).
        const string older = """
            {"version":{"model":"m","versionId":"v2","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","sizeBytes":1,"storage":"Store","publishedBy":"me","publishedAt":"2023-11-14T22:13:20+00:00"},
             "pinned":false,"action":"Stop","changedBy":"api-1","changedAt":"2023-11-14T22:13:20.005+00:00",
             "rollout":{"stage":"Stopped","canaryShare":0.25,"canaries":["a"],"reason":"canary a failed",
               "previous":{"model":"m","versionId":"v1","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","sizeBytes":1,"storage":"Store","publishedBy":"me","publishedAt":"2023-11-14T22:13:20+00:00"}},
             "revision":1700000000005,"signature":"0gMg1MTQMuMHyoZEQFMdleW/PRe6eGaT/kVw+0W4Zck="}
            """;
        var signer = new Records.RecordSigner(Convert.FromBase64String(Key), "prod");
        FleetDesiredVersion read = System.Text.Json.JsonSerializer.Deserialize(older, Records.FleetJsonContext.Default.FleetDesiredVersion)!;

        Assert.Empty(read.Withdrawn);
        Assert.Null(signer.Refusal(read, target: null));
        Assert.Equal(["v2"], Withdrawals.Of(read)); // its stopped rollout still withdraws v2

        // A record with withdrawn versions, signed, round-trips through the JSON and verifies; each entry is signed.
        FleetDesiredVersion pinned = signer.Sign(read with { Action = FleetAction.Pin, Pinned = true, Version = read.Rollout!.Previous!, Rollout = null, Withdrawn = ["v2", "v0"], Revision = read.Revision + 1 });
        FleetDesiredVersion again = System.Text.Json.JsonSerializer.Deserialize(System.Text.Json.JsonSerializer.Serialize(pinned, Records.FleetJsonContext.Default.FleetDesiredVersion), Records.FleetJsonContext.Default.FleetDesiredVersion)!;
        Assert.Equal(["v2", "v0"], again.Withdrawn);
        Assert.Null(signer.Refusal(again, target: null));
        Assert.All(
            [again with { Withdrawn = [] }, again with { Withdrawn = ["v2"] }, again with { Withdrawn = ["v0", "v2"] }, again with { Withdrawn = ["v2", "v0", "v1"] }],
            c => Assert.Contains("signature does not match", signer.Refusal(c, target: null), StringComparison.Ordinal));
    }

    private static string Set(JsonNode record, Action<JsonNode> change)
    {
        change(record);
        return record.ToJsonString();
    }
}
