using System.Text.Json;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Redis.Tests.Tools;

/// <summary>The command-line tool, run as its own process against three instances of a fleet on the real redis-server.</summary>
public sealed class FleetCliTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string Model = FleetHost.ModelName;
    private static readonly string Key = Convert.ToBase64String(Enumerable.Range(7, 32).Select(i => (byte)i).ToArray());

    [Fact]
    public async Task Publish_Rollback_AndStatus_FromTheCommandLine()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        using var directory = new TempDirectory();
        string one = directory.File("one.txt");
        string two = directory.File("two.txt");
        await File.WriteAllTextAsync(one, "hello from the cli");
        await File.WriteAllTextAsync(two, "hello again");

        FleetCli.Result published = await Cli(fleet, "publish", "--model", Model, "--file", one, "--version-id", "cli-1");
        Assert.True(published.ExitCode == 0, published.ToString());
        Assert.Contains($"published {Model} version cli-1 to fleet '{fleet.Name}'", published.Output, StringComparison.Ordinal);
        await fleet.WaitForVersionAsync("cli-1");
        Assert.All(fleet.Hosts, h => Assert.Equal("hello from the cli", h.Cache.GetModel()));

        Assert.Equal(0, (await Cli(fleet, "publish", "--model", Model, "--file", two, "--version-id", "cli-2")).ExitCode);
        await fleet.WaitForVersionAsync("cli-2");
        FleetCli.Result rolledBack = await Cli(fleet, "rollback", "--model", Model);
        Assert.True(rolledBack.ExitCode == 0, rolledBack.ToString());
        Assert.Contains($"rolled back {Model} in fleet '{fleet.Name}': desired version cli-1", rolledBack.Output, StringComparison.Ordinal);
        await fleet.WaitForVersionAsync("cli-1");

        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Serving: [{ VersionId: "cli-1", Instances: 3 }] }], "three instances report cli-1");
        FleetCli.Result status = await Cli(fleet, "status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("3 live instance(s)", status.Output, StringComparison.Ordinal);
        Assert.Contains("desired:  cli-1 (rollback by", status.Output, StringComparison.Ordinal);
        Assert.Contains("serving:  cli-1 on 3 (of 3 instance(s))", status.Output, StringComparison.Ordinal);

        FleetCli.Result json = await Cli(fleet, "status", "--json", "--model", Model);
        using JsonDocument document = JsonDocument.Parse(json.Output);
        Assert.Equal("cli-1", document.RootElement.GetProperty("models")[0].GetProperty("desired").GetProperty("version").GetProperty("versionId").GetString());

        // A rollback with nothing older than cli-1 (the first version) is refused (exit 1), with the reason on stderr; so is a missing file.
        FleetCli.Result refused = await Cli(fleet, "rollback", "--model", Model);
        Assert.Equal(FleetCliExit.Refused, refused.ExitCode);
        Assert.Contains("no version older than 'cli-1'", refused.Error, StringComparison.Ordinal);
        FleetCli.Result missing = await Cli(fleet, "publish", "--model", Model, "--file", directory.File("nope.zip"));
        Assert.Equal(FleetCliExit.Refused, missing.ExitCode);
        Assert.Contains("does not exist", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACanaryPublish_ThenPromote_FromTheCommandLine()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await fleet.Control.PublishAsync(Model, "one"u8.ToArray(), new FleetPublishOptions { VersionId = "one" });
        await fleet.WaitForVersionAsync("one");
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Serving: [{ VersionId: "one", Instances: 3 }] }], "three instances report one");
        using var directory = new TempDirectory();
        string file = directory.File("two.txt");
        await File.WriteAllTextAsync(file, "two");

        FleetCli.Result canary = await Cli(fleet, "publish", "--model", Model, "--file", file, "--version-id", "two", "--canary", "0.5");
        Assert.True(canary.ExitCode == 0, canary.ToString());
        FleetRollout rollout = (await fleet.Control.GetDesiredVersionAsync(Model))!.Rollout!;
        Assert.Contains($"canaries: {string.Join(", ", rollout.Canaries)}; the rest stay on one until 'promote'", canary.Output, StringComparison.Ordinal);
        await Task.WhenAll(fleet.Hosts.Where(h => rollout.Canaries.Contains(h.InstanceId)).Select(h => h.WaitForVersionAsync("two")));

        FleetCli.Result promoted = await Cli(fleet, "promote", "--model", Model);
        Assert.True(promoted.ExitCode == 0, promoted.ToString());
        Assert.Contains("desired version two, rollout promoted", promoted.Output, StringComparison.Ordinal);
        await fleet.WaitForVersionAsync("two");
    }

    [Fact]
    public async Task AnAbortedVersion_IsShownWithdrawn_AndUnpinRefusesWhenNoOtherIsKept()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server);
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Members.Count == 3, "three instances report the model");
        await fleet.Control.PublishAsync(Model, "two"u8.ToArray(), new FleetPublishOptions { VersionId = "two", CanaryShare = 0.3 });

        FleetCli.Result aborted = await Cli(fleet, "abort", "--model", Model);
        Assert.True(aborted.ExitCode == 0, aborted.ToString());
        FleetCli.Result status = await Cli(fleet, "status", "--model", Model);
        Assert.Contains("withdrawn: two (unpin and rollback skip them)", status.Output, StringComparison.Ordinal);

        // two is the only version kept, and it was withdrawn: unpin has nowhere to go (exit 1, the reason on stderr).
        FleetCli.Result unpin = await Cli(fleet, "unpin", "--model", Model);
        Assert.Equal(FleetCliExit.Refused, unpin.ExitCode);
        Assert.Contains("every version the fleet keeps (two) was withdrawn", unpin.Error, StringComparison.Ordinal);
        Assert.Contains("publish a fixed version", unpin.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithASignedFleet_OnlyAPublishWithTheKeyFile_IsLoaded()
    {
        await using Support.Fleet fleet = await Support.Fleet.StartAsync(redis.Server, configure: o => o.SigningKey = Key);
        using var directory = new TempDirectory();
        string file = directory.File("model.txt");
        await File.WriteAllTextAsync(file, "signed by the cli");
        string keyFile = directory.File("fleet.key");
        await File.WriteAllTextAsync(keyFile, Key + "\n");

        Assert.Equal(0, (await Cli(fleet, "publish", "--model", Model, "--file", file, "--version-id", "unsigned")).ExitCode);
        await FleetStatusWait.UntilAsync(fleet.Control, s => s.Models is [{ Failures.Count: 3 }] && s.Models[0].Failures.All(f => f.Error.Contains("not signed", StringComparison.Ordinal)), "every instance refused the unsigned record");
        Assert.All(fleet.Hosts, h => Assert.Equal("hello from the local file", h.Cache.GetModel()));

        FleetCli.Result signed = await Cli(fleet, "publish", "--model", Model, "--file", file, "--version-id", "signed", "--key-file", keyFile);
        Assert.True(signed.ExitCode == 0, signed.ToString());
        Assert.Contains(", signed)", signed.Output, StringComparison.Ordinal);
        await fleet.WaitForVersionAsync("signed");
        Assert.All(fleet.Hosts, h => Assert.Equal("signed by the cli", h.Cache.GetModel()));
    }

    [Fact]
    public async Task RedisUnreachable_ExitsWith2_AndSaysSo()
    {
        FleetCli.Result result = await FleetCli.RunAsync("status", "--redis", "127.0.0.1:1", "--fleet", "prod");
        Assert.Equal(FleetCliExit.Unreachable, result.ExitCode);
        Assert.Contains("Redis did not answer", result.Error, StringComparison.Ordinal);
    }

    private Task<FleetCli.Result> Cli(Support.Fleet fleet, params string[] arguments) =>
        FleetCli.RunAsync([.. arguments, "--redis", redis.Server.Configuration, "--fleet", fleet.Name]);

    private static class FleetCliExit
    {
        public const int Refused = 1;
        public const int Unreachable = 2;
    }
}
