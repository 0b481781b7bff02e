using System.Text.Json;
using StackExchange.Redis;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// Reads the membership entries (JSON as <see cref="Records.FleetJsonContext"/> writes <see cref="FleetMember"/>) as
/// placement needs them: the id, host, address, replicas and placed models; the per-model details, which are most of an
/// entry's bytes, are skipped, so the records it returns have no <see cref="FleetMember.Models"/>. A member whose fields
/// placement reads are unchanged since the last read gets its last record back (the same object): an idle fleet's read,
/// every heartbeat, makes no record, list or string (the time and memory in an entry change on every write, so the whole
/// entry's bytes are seldom the same twice).
/// </summary>
/// <remarks>Only the agent's loop calls it. It keeps the last record of each member of the last read, nothing older.</remarks>
internal sealed class PlacementMemberReader
{
    private const int MaxStackId = 256;
    private readonly Dictionary<string, (FleetMember Member, long Read)> _last = new(StringComparer.Ordinal);
    private long _reads;

    /// <summary>The members in <paramref name="entries"/> (a <see langword="null"/> or unreadable entry is left out), by ordinal id.</summary>
    public List<FleetMember> Read(ReadOnlySpan<RedisValue> entries)
    {
        long read = ++_reads;
        var members = new List<FleetMember>(entries.Length);
        Dictionary<string, (FleetMember Member, long Read)>.AlternateLookup<ReadOnlySpan<char>> byId = _last.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (RedisValue entry in entries)
        {
            if (entry.IsNullOrEmpty)
            {
                continue;
            }

            try
            {
                if (Parse(((ReadOnlyMemory<byte>)entry).Span, byId) is { } member)
                {
                    _last[member.InstanceId] = (member, read);
                    members.Add(member);
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                // Not an entry this version writes (malformed JSON, or a field of another type: Utf8JsonReader's typed
                // reads throw InvalidOperationException or FormatException there): treated as absent, as the status read does.
            }
        }

        foreach ((string id, (FleetMember _, long seen)) in _last)
        {
            if (seen != read)
            {
                _last.Remove(id); // gone from the membership: nothing of it is kept
            }
        }

        members.Sort(static (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        return members;
    }

    private static FleetMember? Parse(ReadOnlySpan<byte> json, Dictionary<string, (FleetMember Member, long Read)>.AlternateLookup<ReadOnlySpan<char>> byId)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        FleetMember? previous = null;
        string? id = null, host = null, address = null;
        int replicas = 0;
        IReadOnlyList<string>? placed = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("instanceId"u8))
            {
                reader.Read();
                previous = Previous(ref reader, byId);
                id = Text(ref reader, previous?.InstanceId);
            }
            else if (reader.ValueTextEquals("host"u8))
            {
                reader.Read();
                host = Text(ref reader, previous?.Host);
            }
            else if (reader.ValueTextEquals("address"u8))
            {
                reader.Read();
                address = Text(ref reader, previous?.Address);
            }
            else if (reader.ValueTextEquals("replicas"u8))
            {
                reader.Read();
                replicas = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("placedModels"u8))
            {
                reader.Read();
                placed = reader.TokenType == JsonTokenType.Null ? null : Names(ref reader, previous?.PlacedModels);
            }
            else
            {
                reader.Read();
                reader.Skip(); // the models' details, the times, the memory: not placement's
            }
        }

        if (id is null || host is null)
        {
            return null;
        }

        return previous is not null && ReferenceEquals(id, previous.InstanceId) && ReferenceEquals(host, previous.Host) && ReferenceEquals(address, previous.Address)
            && replicas == previous.Replicas && ReferenceEquals(placed, previous.PlacedModels)
            ? previous
            : new FleetMember { InstanceId = id, Host = host, Address = address, Replicas = replicas, PlacedModels = placed, Models = [] };
    }

    // The last read's record of the member whose id the reader is on (the id is first in every entry this version writes).
    private static FleetMember? Previous(ref Utf8JsonReader reader, Dictionary<string, (FleetMember Member, long Read)>.AlternateLookup<ReadOnlySpan<char>> byId)
    {
        if (reader.TokenType != JsonTokenType.String || reader.HasValueSequence || reader.ValueSpan.Length > MaxStackId)
        {
            return null;
        }

        Span<char> buffer = stackalloc char[MaxStackId];
        int length = reader.CopyString(buffer);
        return byId.TryGetValue(buffer[..length], out (FleetMember Member, long Read) last) ? last.Member : null;
    }

    // The string the reader is on: the last one when it reads the same (no new string), else a new one.
    private static string? Text(ref Utf8JsonReader reader, string? last) =>
        reader.TokenType == JsonTokenType.Null ? null : last is not null && reader.ValueTextEquals(last) ? last : reader.GetString();

    // The array of names the reader is on: the last list when every name is the same, in the same order.
    private static IReadOnlyList<string> Names(ref Utf8JsonReader reader, IReadOnlyList<string>? last)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("placedModels is not an array");
        }

        List<string>? names = null;
        int count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (names is null && last is not null && count < last.Count && reader.ValueTextEquals(last[count]))
            {
                count++;
                continue;
            }

            if (names is null)
            {
                names = new List<string>(Math.Max(count + 1, last?.Count ?? 0));
                for (int i = 0; i < count; i++)
                {
                    names.Add(last![i]);
                }
            }

            names.Add(reader.GetString() ?? throw new JsonException("a placed model's name is null"));
        }

        return names ?? (last is not null && count == last.Count ? last : [.. last?.Take(count) ?? []]);
    }
}
