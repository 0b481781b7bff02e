using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ModelCaching.Redis;
using StackExchange.Redis;

namespace ModelCaching.Routing.Tests.Support;

/// <summary>Membership entries as the instances write them, and as the fleet's full read (<c>FleetStore.ReadMembersAsync</c>) takes them.</summary>
internal static class FleetEntries
{
    /// <summary>The source-generated JSON the fleet writes entries with and its full read parses them with (internal to ModelCaching.Redis).</summary>
    public static JsonTypeInfo<FleetMember> Json { get; } = (JsonTypeInfo<FleetMember>)((JsonSerializerContext)typeof(RedisFleetOptions).Assembly
        .GetType("ModelCaching.Redis.Records.FleetJsonContext", throwOnError: true)!.GetProperty("Default")!.GetValue(null)!).GetTypeInfo(typeof(FleetMember))!;

    /// <summary>The entry as Redis holds it (UTF-8 bytes).</summary>
    public static RedisValue Entry(FleetMember member) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(member, Json));

    /// <summary>The entry of hand-written JSON, as Redis holds it.</summary>
    public static RedisValue Entry(string json) => Encoding.UTF8.GetBytes(json);

    /// <summary>What the full read makes of an entry: <see langword="null"/> where it refuses it (as <c>FleetStore.Parse</c> does).</summary>
    public static FleetMember? Full(RedisValue entry)
    {
        if (entry.IsNullOrEmpty)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize((string)entry!, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>An entry as an instance writes it: each loaded tenant in its models (with versions and hash) and in its placed models.</summary>
    public static FleetMember Member(string id, DateTimeOffset reportedAt, int loaded, ModelCacheState state = ModelCacheState.Ready)
    {
        string[] names = [.. Enumerable.Range(0, loaded).Select(i => $"tenant-{i:D4}")];
        return new FleetMember
        {
            InstanceId = id,
            Host = "host-" + id,
            Address = $"http://{id}.test:8080",
            StartedAt = reportedAt.AddHours(-1),
            ReportedAt = reportedAt,
            Replicas = 2,
            MemoryUsedBytes = reportedAt.Ticks,
            MemoryBudgetBytes = 10_000_000_000,
            PlacedModels = names,
            Models = [.. names.Select(n => new FleetMemberModel { Name = n, DesiredVersionId = "v-20261201-0001", ServedVersionId = "v-20261201-0001", ServedSha256 = new string('a', 64), State = state })],
        };
    }
}
