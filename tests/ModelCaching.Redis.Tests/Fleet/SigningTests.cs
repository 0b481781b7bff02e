using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Fleet;

public sealed class SigningTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly string Key = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly string OtherKey = Convert.ToBase64String(Enumerable.Range(101, 32).Select(i => (byte)i).ToArray());

    [Theory]
    [InlineData(null, "record is not signed")]
    [InlineData("other", "signature does not match")]
    public async Task ARecordWithoutTheKey_IsRefused_TheInstancesKeepServing_AndSayWhy(string? rogueKey, string reason)
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, configure: o => o.SigningKey = Key);
        FleetVersion signed = await fleet.Control.PublishAsync(FleetHost.ModelName, "signed v1"u8.ToArray(), new FleetPublishOptions { VersionId = "signed" });
        Assert.NotNull(signed.Signature);
        await fleet.WaitForVersionAsync(signed.VersionId);

        // A client that can write to Redis, without the fleet's key.
        await using (ServiceProvider rogue = FleetHost.Publisher(redis.Server.Configuration, fleet.Name, rogueKey is null ? null : OtherKey))
        {
            await rogue.GetRequiredService<IModelFleet>().PublishAsync(FleetHost.ModelName, "rogue content"u8.ToArray(), new FleetPublishOptions { VersionId = "rogue" });
        }

        FleetStatus status = await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Failures.Count: 3 }], "every instance reported the refusal");
        Assert.All(Assert.Single(status.Models).Failures, f => Assert.Contains(reason, f.Error, StringComparison.Ordinal));
        string rogueSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("rogue content"u8));
        foreach (FleetHost host in fleet.Hosts)
        {
            Assert.Equal("signed v1", host.Cache.GetModel());

            // Nothing was even fetched. (A count of the history would race with a follow-up load of the signed version
            // that found it unchanged: the start-up reconciliation and the publish's message can both ask for one.)
            Assert.False(host.Tried(rogueSha));
            Assert.DoesNotContain(host.Cache.GetHistory(), r => r.Outcome is ModelLoadOutcome.Failure or ModelLoadOutcome.Skipped);
            Assert.Equal(HealthStatus.Degraded, await host.FleetHealthAsync());
            Assert.Contains(host.Logs.GetSnapshot(), r => r.Level == LogLevel.Error && r.Message.Contains("refused the desired version rogue", StringComparison.Ordinal) && r.Message.Contains(reason, StringComparison.Ordinal));
        }

        // A signed publish clears it.
        FleetVersion next = await fleet.Control.PublishAsync(FleetHost.ModelName, "signed v2"u8.ToArray(), new FleetPublishOptions { VersionId = "signed-2" });
        await fleet.WaitForVersionAsync(next.VersionId);
        foreach (FleetHost host in fleet.Hosts)
        {
            await Eventually.TrueAsync(async () => await host.FleetHealthAsync() == HealthStatus.Healthy, "the refusal is over");
        }
    }

    [Fact]
    public void Signer_RefusesARecordChangedAfterSigning()
    {
        var signer = new Records.RecordSigner(Convert.FromBase64String(Key), "prod");
        FleetVersion version = signer.Sign(new FleetVersion
        {
            Model = "m",
            VersionId = "v1",
            Sha256 = new string('a', 64),
            SizeBytes = 10,
            Storage = FleetContentStorage.Store,
            PublishedBy = "me",
            PublishedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000),
        });

        Assert.Null(signer.Refusal(version));
        Assert.NotNull(signer.Refusal(version with { Sha256 = new string('b', 64) }));
        Assert.NotNull(signer.Refusal(version with { Model = "other" }));
        Assert.NotNull(signer.Refusal(version with { Storage = FleetContentStorage.Location, Location = "/tmp/x" }));
        Assert.NotNull(new Records.RecordSigner(Convert.FromBase64String(Key), "staging").Refusal(version));
        Assert.Contains("not a base64", signer.Refusal(version with { Signature = "%%%" }), StringComparison.Ordinal);
    }
}
