using ModelCaching.Redis.Records;
using ModelCaching.Routing.Membership;
using StackExchange.Redis;
using static ModelCaching.Routing.Tests.Support.FleetEntries;

namespace ModelCaching.Routing.Tests.Membership;

/// <summary>
/// How the router reads the membership entries (<see cref="FleetMemberReader"/>): only what routing needs, the same
/// answers as the fleet's full read for those fields, the same entries left out, and nothing new for a member whose
/// routing fields did not change.
/// </summary>
public sealed class FleetMemberReaderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly FleetMember Hostile = new()
    {
        InstanceId = "q\"uote\\back/slash\u00e9\U0001F600\u2028\t",
        Host = "h\u00f4st \"x\"",
        Address = "http://hostile.test:8080/\"a\"?b=\\c&d=\u00fc",
        Replicas = 3,
        StartedAt = T0,
        ReportedAt = T0,
        PlacedModels = ["tenant-\u00e9", "tenant-\\x", "tenant-\"q\"", "tenant-\U0001F600", "tenant-\u0000nul"],
        Models =
        [
            .. Enum.GetValues<ModelCacheState>().Select(s => new FleetMemberModel { Name = $"m-\"{s}\"-\u00fc", State = s, LastError = "boom \"quoted\"\n\\", Canary = true }),
        ],
    };

    // Entries the fleet's full read takes, of every shape: escapes, unicode written raw, nulls, other orders and unknown fields.
    private static readonly string[] s_readable =
    [
        Text(Hostile),
        Text(Hostile with { InstanceId = "nulls", Address = null, PlacedModels = null, Replicas = 0, MemoryUsedBytes = null, Models = [new FleetMemberModel { Name = "m", State = ModelCacheState.Degraded }] }),
        Text(Member("plain", T0, loaded: 3)),
        "{\"instanceId\":\"r\u00e9\U0001F600\",\"host\":\"h\",\"models\":[{\"name\":\"tenant-\u00fc\",\"state\":\"Degraded\"}],\"placedModels\":[\"p-\u00e9\"]}",
        "{\"instance\\u0049d\":\"escaped-names\",\"h\\u006fst\":\"h\",\"address\":\"http:\\/\\/e.test\",\"models\":[{\"n\\u0061me\":\"m\",\"st\\u0061te\":\"Ready\"}]}",
        "{\"models\":[{\"state\":\"Ready\",\"name\":\"m\"}],\"host\":\"h\",\"unknown\":{\"a\":[1,{\"b\":null}]},\"replicas\":2,\"instanceId\":\"id-last\"}",
        "{\"instanceId\":\"dup\",\"host\":\"h\",\"replicas\":1,\"replicas\":2,\"models\":null,\"models\":[{\"name\":\"m\",\"state\":\"Failed\",\"state\":\"Ready\"}]}",
        "{\"instanceId\":\"state-lower\",\"host\":\"h\",\"models\":[{\"name\":\"m\",\"state\":\"ready\"}]}",
        "{\"instanceId\":\"state-number\",\"host\":\"h\",\"models\":[{\"name\":\"m\",\"state\":3},{\"name\":\"n\",\"state\":99}]}",
        "{\"instanceId\":\"state-missing\",\"host\":\"h\",\"models\":[{\"name\":\"m\"}]}",
        "{\"instanceId\":\"NAMES-CASE\",\"host\":\"h\",\"Address\":\"http://ignored.test\",\"Replicas\":\"ignored\",\"models\":[]}",
        " \r\n{\"instanceId\":\"white-space\",\"host\":\"h\",\"models\":[]} \n ",
    ];

    // Entries the full read refuses (malformed, a field of another type, a required field missing, something after the
    // object), and entries with null where the record's type says not null (the full read takes those, and the table threw
    // on a null id or model): all left out.
    private static readonly string[] s_unreadable =
    [
        "not json", "[]", "\"a string\"", "{", "{}", "null",
        "{\"host\":\"h\",\"models\":[]}",
        "{\"instanceId\":\"a\",\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\"}",
        "{\"instanceId\":5,\"host\":\"h\",\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":[],\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"address\":5,\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"replicas\":\"2\",\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"replicas\":2.5,\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"replicas\":99999999999,\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"replicas\":null,\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"placedModels\":\"tenant-1\",\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"placedModels\":[1],\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":{}}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[5]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[{\"state\":\"Ready\"}]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[{\"name\":7,\"state\":\"Ready\"}]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[{\"name\":\"m\",\"state\":\"Bogus\"}]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[{\"name\":\"m\",\"state\":null}]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[{\"name\":\"m\",\"state\":true}]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[{\"name\":\"m\",\"canary\":\"yes\"}]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[{\"name\":\"m\",\"lastError\":{}}]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[{\"name\":\"m\",\"servedSha256\":1}]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"startedAt\":\"yesterday\",\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"reportedAt\":null,\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"memoryUsedBytes\":\"x\",\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"memoryBudgetBytes\":1.5,\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[]} x",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[]}{}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[],}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[]/* a comment */}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[{\"name\":\"m\",\"state\":\"Ready\"}",
        // Null where the type says not null.
        "{\"instanceId\":null,\"host\":\"h\",\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":null,\"models\":[]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":null}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[null]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"models\":[{\"name\":null,\"state\":\"Ready\"}]}",
        "{\"instanceId\":\"a\",\"host\":\"h\",\"placedModels\":[null],\"models\":[]}",
    ];

    public static TheoryData<string> Readable => new(s_readable);

    public static TheoryData<string> Unreadable => new(s_unreadable);

    [Theory]
    [MemberData(nameof(Readable))]
    public void AnEntryTheFullReadTakes_IsReadWithTheSameRoutingFields_AtEachRead(string json)
    {
        RedisValue entry = Entry(json);
        FleetMember expected = Full(entry) ?? throw new InvalidOperationException("the full read refuses the entry");
        var reader = new FleetMemberReader();

        FleetMember first = Assert.Single(reader.Read([entry]));
        FleetMember again = Assert.Single(reader.Read([entry]));

        AssertSameRoutingFields(expected, first);
        AssertSameRoutingFields(expected, again);
        if (json.StartsWith("{\"instanceId\"", StringComparison.Ordinal))
        {
            Assert.Same(first, again); // known by its id before the rest is read, as every entry an instance writes is
        }
    }

    [Theory]
    [MemberData(nameof(Unreadable))]
    public void AnEntryTheFullReadRefuses_OrWithNullWhereTheTypeSaysNotNull_IsLeftOut_AndTheOthersAreRead(string json)
    {
        RedisValue entry = Entry(json);
        if (Full(entry) is { } full)
        {
            Assert.True(HasNullWhereNotNull(full), "the full read takes the entry, with no null where the type says not null");
        }

        IReadOnlyList<FleetMember> read = new FleetMemberReader().Read([Entry(Member("before", T0, 2)), entry, RedisValue.Null, Entry(Member("after", T0, 2))]);

        Assert.Equal(["after", "before"], read.Select(m => m.InstanceId));
    }

    [Fact]
    public void AllEntriesOfARead_AreTheFullReadsMembers_ByOrdinalId()
    {
        RedisValue[] entries = [.. s_readable.Select(Entry), .. s_unreadable.Select(Entry), RedisValue.Null];
        FleetMember[] expected = [.. entries.Select(Full).OfType<FleetMember>().Where(m => !HasNullWhereNotNull(m)).OrderBy(m => m.InstanceId, StringComparer.Ordinal)];

        IReadOnlyList<FleetMember> read = new FleetMemberReader().Read(entries);

        Assert.Equal(expected.Length, read.Count);
        foreach ((FleetMember e, FleetMember a) in expected.Zip(read))
        {
            AssertSameRoutingFields(e, a);
        }
    }

    [Fact]
    public void AMemberWhoseRoutingFieldsAreUnchanged_GetsItsLastRecordBack_AndAnUnchangedFleetTheLastList()
    {
        var reader = new FleetMemberReader();
        RedisValue[] Entries(DateTimeOffset at, Func<FleetMember, FleetMember> b) =>
            [Entry(Member("a", at, 5)), Entry(b(Member("b", at, 5))), Entry(Member("c", at, 5))];
        IReadOnlyList<FleetMember> first = reader.Read(Entries(T0, b => b));

        // A later write of each entry: other times, memory, versions and errors, the same routing fields.
        IReadOnlyList<FleetMember> later = reader.Read(Entries(T0.AddSeconds(10), b => b with
        {
            MemoryUsedBytes = 1,
            Models = [.. b.Models.Select(m => m with { ServedVersionId = "v-other", LastError = "slow", Canary = true })],
        }));
        Assert.Same(first, later);

        // One model of b failed: b's record is new, its other models and the other members' records are kept.
        IReadOnlyList<FleetMember> failed = reader.Read(Entries(T0.AddSeconds(20), b => b with
        {
            Models = [.. b.Models.Select((m, i) => i == 2 ? m with { State = ModelCacheState.Failed } : m)],
        }));
        Assert.NotSame(first, failed);
        Assert.Same(first[0], failed[0]);
        Assert.Same(first[2], failed[2]);
        Assert.NotSame(first[1], failed[1]);
        Assert.Equal(ModelCacheState.Failed, failed[1].Models[2].State);
        Assert.Equal([0, 1, 3, 4], Enumerable.Range(0, 5).Where(i => ReferenceEquals(first[1].Models[i], failed[1].Models[i])));
        Assert.Same(first[1].PlacedModels, failed[1].PlacedModels);

        // A member missing from a read is forgotten: nothing of it is kept.
        Assert.Equal(["a", "c"], reader.Read([Entry(Member("a", T0, 5)), Entry(Member("c", T0, 5))]).Select(m => m.InstanceId));
        Assert.NotSame(failed[1], reader.Read(Entries(T0.AddSeconds(30), b => b))[1]);
    }

    private static void AssertSameRoutingFields(FleetMember expected, FleetMember actual)
    {
        Assert.Equal(expected.InstanceId, actual.InstanceId);
        Assert.Equal(expected.Host, actual.Host);
        Assert.Equal(expected.Address, actual.Address);
        Assert.Equal(expected.Replicas, actual.Replicas);
        Assert.Equal(expected.PlacedModels, actual.PlacedModels);
        Assert.Equal(expected.Models.Select(m => (m.Name, m.State)), actual.Models.Select(m => (m.Name, m.State)));
    }

    private static bool HasNullWhereNotNull(FleetMember member) =>
        member.InstanceId is null || member.Host is null || member.Models is null || member.Models.Any(m => m?.Name is null) || (member.PlacedModels?.Contains(null!) ?? false);

    private static string Text(FleetMember member) => System.Text.Encoding.UTF8.GetString((byte[])Entry(member)!);
}
