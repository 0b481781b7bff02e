using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Redis.Instance;
using ModelCaching.Redis.Records;
using StackExchange.Redis;

namespace ModelCaching.Redis.Tests.Placement;

/// <summary>
/// How placement reads the membership entries on each heartbeat (<see cref="FleetMemberReader"/>): only what it
/// needs, the same answers as the full record, and nothing new for a member whose placement fields did not change, so
/// an idle fleet's read allocates next to nothing where it used to parse every entry in full.
/// </summary>
public sealed class PlacementMemberReaderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ItReadsWhatPlacementNeeds_AsTheFullRecordSaysIt_AndLeavesOutWhatIsNotAnEntry()
    {
        FleetMember b = Member("b", T0, loaded: 3) with { Address = "http://b.test/\"quoted\"", PlacedModels = ["tenant-\u00e9", "tenant-\\x", "tenant-z"] };
        FleetMember c = Member("c", T0, loaded: 0) with { Address = null, Replicas = 0, PlacedModels = null };
        RedisValue[] entries =
        [
            Entry(c), RedisValue.Null, "not json", Entry(b), "{\"host\":\"no id\"}",
            // Fields of another type (another version's entry, or anyone who can write the key) are no entry either.
            "{\"instanceId\":5,\"host\":\"h\"}", "{\"instanceId\":\"d\",\"host\":\"h\",\"replicas\":\"two\"}",
            "{\"instanceId\":\"e\",\"host\":\"h\",\"replicas\":99999999999}", "{\"instanceId\":\"f\",\"host\":\"h\",\"placedModels\":[1]}",
            "{\"instanceId\":\"g\",\"host\":\"h\",\"placedModels\":\"tenant-1\"}", "{\"instanceId\":\"h\",\"host\":[]}",
        ];

        IReadOnlyList<FleetMember> read = new FleetMemberReader().Read(entries);

        Assert.Equal(["b", "c"], read.Select(m => m.InstanceId));
        foreach ((FleetMember expected, FleetMember actual) in new[] { b, c }.Zip(read))
        {
            Assert.Equal(expected.Host, actual.Host);
            Assert.Equal(expected.Address, actual.Address);
            Assert.Equal(expected.Replicas, actual.Replicas);
            Assert.Equal(expected.PlacedModels, actual.PlacedModels);
            Assert.Equal(expected.Models.Select(m => (m.Name, m.State)), actual.Models.Select(m => (m.Name, m.State))); // of each model, only these
        }
    }

    [Fact]
    public void AMemberWhosePlacementFieldsAreUnchanged_GetsItsLastRecordBack_WhileAnyChangeMakesANewOne()
    {
        var reader = new FleetMemberReader();
        FleetMember first = reader.Read([Entry(Member("b", T0, loaded: 5))]).Single();

        // A later heartbeat's entry: another time and memory, the same placement fields.
        Assert.Same(first, reader.Read([Entry(Member("b", T0.AddSeconds(10), loaded: 5) with { MemoryUsedBytes = 7 })]).Single());

        FleetMember loadedOneMore = reader.Read([Entry(Member("b", T0.AddSeconds(20), loaded: 6))]).Single();
        Assert.NotSame(first, loadedOneMore);
        Assert.Equal(Member("b", T0, loaded: 6).PlacedModels, loadedOneMore.PlacedModels);
        FleetMember oneFewer = reader.Read([Entry(Member("b", T0.AddSeconds(30), loaded: 5))]).Single();
        Assert.Equal(first.PlacedModels, oneFewer.PlacedModels);
        FleetMember moved = reader.Read([Entry(Member("b", T0.AddSeconds(40), loaded: 5) with { Address = "http://elsewhere" })]).Single();
        Assert.Equal("http://elsewhere", moved.Address);
        Assert.NotSame(oneFewer, moved);

        // Changes that keep the list's length, or touch one number only, make a new record too.
        FleetMember baseline = Member("b", T0.AddSeconds(41), loaded: 5) with { Address = "http://elsewhere" };
        string[] renamed = [.. baseline.PlacedModels!];
        renamed[2] = "tenant-renamed";
        FleetMember midRenamed = reader.Read([Entry(baseline with { PlacedModels = renamed })]).Single();
        Assert.Equal(renamed, midRenamed.PlacedModels);
        FleetMember reordered = reader.Read([Entry(baseline with { PlacedModels = [.. renamed.Reverse()] })]).Single();
        Assert.Equal(renamed.Reverse(), reordered.PlacedModels);
        FleetMember stopsPlacing = reader.Read([Entry(baseline with { PlacedModels = [.. renamed.Reverse()], Replicas = 0 })]).Single();
        Assert.NotSame(reordered, stopsPlacing);
        Assert.Equal(0, stopsPlacing.Replicas);
        moved = reader.Read([Entry(baseline)]).Single();
        Assert.Equal(baseline.PlacedModels, moved.PlacedModels);

        // A member missing from a read is forgotten: nothing of it is kept.
        Assert.Empty(reader.Read([]));
        Assert.NotSame(moved, reader.Read([Entry(Member("b", T0.AddSeconds(50), loaded: 5) with { Address = "http://elsewhere" })]).Single());
    }

    [Fact]
    public void AMembershipReadWithUnchangedPlacement_AllocatesNextToNothing_WhereParsingEveryEntryInFullAllocatedHundredsOfKilobytes()
    {
        // Three other members with 300 loaded tenants each (an entry of about 57 KB), written again at each heartbeat.
        const int members = 3, loaded = 300;
        InstancePlacement placement = Placement();
        RedisValue[] Entries(DateTimeOffset at) => [.. Enumerable.Range(0, members).Select(i => Entry(Member($"instance-{i}", at, loaded) with { MemoryUsedBytes = at.Ticks }))];
        RedisValue[] first = Entries(T0), next = Entries(T0.AddSeconds(10));
        Assert.InRange(first.Sum(e => ((byte[])e!).Length), members * 30_000, members * 60_000);
        PlacementView view = placement.NextView(placement.ReadMembers(first));

        long before = GC.GetAllocatedBytesForCurrentThread();
        PlacementView again = placement.NextView(placement.ReadMembers(next));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Same(view, again);
        Assert.Equal(["a", .. Enumerable.Range(0, members).Select(i => $"instance-{i}")], again.Members);
        Assert.True(allocated < 1024, $"a membership read allocated {allocated} bytes");
    }

    private static InstancePlacement Placement()
    {
        var options = new RedisFleetOptions { Configuration = "127.0.0.1:1", InstanceId = "a" };
        options.Placement.Templates.Add("tenants");
        return new InstancePlacement(new FleetSettings(options), new ServiceCollection().BuildServiceProvider(), new FakeTimeProvider(T0), NullLogger.Instance);
    }

    private static RedisValue Entry(FleetMember member) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(member, FleetJsonContext.Default.FleetMember));

    // An entry as an instance writes it: each loaded tenant in its models (with versions and hash) and in its placed models.
    private static FleetMember Member(string id, DateTimeOffset reportedAt, int loaded)
    {
        string[] names = [.. Enumerable.Range(0, loaded).Select(i => $"tenant-{i:D4}")];
        return new FleetMember
        {
            InstanceId = id,
            Host = "host-" + id,
            Address = $"http://{id}.test:8080",
            StartedAt = T0,
            ReportedAt = reportedAt,
            Replicas = 2,
            MemoryUsedBytes = 1_000,
            MemoryBudgetBytes = 10_000,
            PlacedModels = names,
            Models = [.. names.Select(n => new FleetMemberModel { Name = n, ServedVersionId = "local:0f3a9c1e7b2d", ServedSha256 = new string('a', 64), State = ModelCacheState.Ready })],
        };
    }
}
