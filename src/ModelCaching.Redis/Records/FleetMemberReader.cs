using System.Text.Json;
using StackExchange.Redis;

namespace ModelCaching.Redis.Records;

/// <summary>
/// Reads the membership entries (JSON as <see cref="FleetJsonContext"/> writes <see cref="FleetMember"/>) as placement
/// (<c>InstancePlacement</c>, on every heartbeat) and the router (<c>RoutingMembership</c>, every refresh) need them:
/// the id, host, address, replicas, placed models, and each model's name and state. One reader for both, so an instance
/// and a router take exactly the same entries for members and compute the same owners. The rest (the times, the
/// memory, the versions and errors of each model) is checked for its type as the full deserializer would, and not kept:
/// the records it returns have no <see cref="FleetMember.StartedAt"/>, <see cref="FleetMember.ReportedAt"/> or memory,
/// and their models only a name and a state. A member whose fields the router reads are unchanged since the last read gets
/// its last record back (the same object), and when every member does, the last list comes back (the same object): an
/// idle fleet's read makes no record, list or string (the time in an entry changes on every write, so the whole entry's
/// bytes are seldom the same twice).
/// </summary>
/// <remarks>
/// <para>
/// An entry is left out when the full deserializer (<see cref="FleetJsonContext"/>) refuses it (malformed JSON, a required
/// field missing, a field of another type, anything after the object), and also when a field whose type is not nullable
/// is null (the id, the host, the models, a model, a model's name, a placed name): the full deserializer lets those through,
/// and a null id or model made the routing table throw, which failed the whole read (the status read,
/// <see cref="FleetStore.ReadMembersAsync"/>, takes the members this reader takes).
/// </para>
/// <para>Its owner calls it one read at a time. It keeps the last record of each member of the last read, nothing older.</para>
/// </remarks>
internal sealed class FleetMemberReader
{
    private const int MaxStackId = 256;
    private readonly Dictionary<string, (FleetMember Member, long Read)> _last = new(StringComparer.Ordinal);
    private readonly List<FleetMember> _read = [];
    private List<FleetMember> _members = [];
    private long _reads;

    /// <summary>
    /// The members in <paramref name="entries"/> (a <see langword="null"/> or unreadable entry is left out), by ordinal id:
    /// the list the last read returned when every member's record is the same object as then, in the same order.
    /// </summary>
    public IReadOnlyList<FleetMember> Read(ReadOnlySpan<RedisValue> entries)
    {
        long read = ++_reads;
        _read.Clear();
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
                    _read.Add(member);
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                // Not an entry this version writes (malformed JSON, or a field of another type: Utf8JsonReader's typed
                // reads throw InvalidOperationException or FormatException there): treated as absent, as the full read does.
            }
        }

        foreach ((string id, (FleetMember _, long seen)) in _last)
        {
            if (seen != read)
            {
                _last.Remove(id); // gone from the membership: nothing of it is kept
            }
        }

        _read.Sort(static (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        if (!Same(_read, _members))
        {
            _members = [.. _read];
        }

        return _members;
    }

    private static bool Same(List<FleetMember> read, List<FleetMember> last)
    {
        if (read.Count != last.Count)
        {
            return false;
        }

        for (int i = 0; i < read.Count; i++)
        {
            if (!ReferenceEquals(read[i], last[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static FleetMember? Parse(ReadOnlySpan<byte> json, Dictionary<string, (FleetMember Member, long Read)>.AlternateLookup<ReadOnlySpan<char>> byId)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("a membership entry is not an object");
        }

        FleetMember? previous = null;
        string? id = null, host = null, address = null;
        bool hasId = false, hasHost = false, hasModels = false;
        int replicas = 0;
        IReadOnlyList<string>? placed = null;
        IReadOnlyList<FleetMemberModel>? models = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("instanceId"u8))
            {
                reader.Read();
                previous = Previous(ref reader, byId);
                id = Text(ref reader, previous?.InstanceId);
                hasId = true;
            }
            else if (reader.ValueTextEquals("host"u8))
            {
                reader.Read();
                host = Text(ref reader, previous?.Host);
                hasHost = true;
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
            else if (reader.ValueTextEquals("models"u8))
            {
                reader.Read();
                models = reader.TokenType == JsonTokenType.Null ? null : Models(ref reader, previous?.Models);
                hasModels = true;
            }
            else if (reader.ValueTextEquals("startedAt"u8) || reader.ValueTextEquals("reportedAt"u8))
            {
                reader.Read();
                _ = reader.GetDateTimeOffset(); // not kept: checked as the full read checks it
            }
            else if (reader.ValueTextEquals("memoryUsedBytes"u8) || reader.ValueTextEquals("memoryBudgetBytes"u8))
            {
                reader.Read();
                _ = reader.TokenType == JsonTokenType.Null ? 0 : reader.GetInt64();
            }
            else
            {
                reader.Read();
                reader.Skip(); // not a field of FleetMember: the full read skips it too
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new JsonException("a membership entry does not end with its object"); // Read throws first on anything but white space
        }

        if (!hasId || !hasHost || !hasModels)
        {
            throw new JsonException("a membership entry lacks a required field");
        }

        if (id is null || host is null || models is null)
        {
            return null;
        }

        return previous is not null && ReferenceEquals(id, previous.InstanceId) && ReferenceEquals(host, previous.Host) && ReferenceEquals(address, previous.Address)
            && replicas == previous.Replicas && ReferenceEquals(placed, previous.PlacedModels) && ReferenceEquals(models, previous.Models)
            ? previous
            : new FleetMember { InstanceId = id, Host = host, Address = address, Replicas = replicas, PlacedModels = placed, Models = models };
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

    // The string (or null) the reader is on: the last one when it reads the same (no new string), else a new one.
    private static string? Text(ref Utf8JsonReader reader, string? last) =>
        reader.TokenType == JsonTokenType.Null ? null : last is not null && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(last) ? last : reader.GetString();

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
            string? same = last is not null && count < last.Count && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(last[count]) ? last[count] : null;
            count++;
            if (names is null && same is not null)
            {
                continue;
            }

            names ??= Copy(last, count - 1);
            names.Add(same ?? reader.GetString() ?? throw new JsonException("a placed model's name is null"));
        }

        return names ?? (last is not null && count == last.Count ? last : Copy(last, count));
    }

    // The array of models the reader is on (each model's name and state): the last list when every model is the same.
    private static IReadOnlyList<FleetMemberModel> Models(ref Utf8JsonReader reader, IReadOnlyList<FleetMemberModel>? last)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("models is not an array");
        }

        List<FleetMemberModel>? models = null;
        int count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            FleetMemberModel? lastModel = last is not null && count < last.Count ? last[count] : null;
            FleetMemberModel model = Model(ref reader, lastModel);
            count++;
            if (models is null && ReferenceEquals(model, lastModel))
            {
                continue;
            }

            models ??= Copy(last, count - 1);
            models.Add(model);
        }

        return models ?? (last is not null && count == last.Count ? last : Copy(last, count));
    }

    // The model the reader is on: the last one when its name and state are the same.
    private static FleetMemberModel Model(ref Utf8JsonReader reader, FleetMemberModel? last)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("a model is not an object"); // null too: the table could not read it
        }

        string? name = null;
        bool hasName = false;
        ModelCacheState state = ModelCacheState.NotLoaded;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = Text(ref reader, last?.Name);
                hasName = true;
            }
            else if (reader.ValueTextEquals("state"u8))
            {
                reader.Read();
                state = State(ref reader);
            }
            else if (reader.ValueTextEquals("desiredVersionId"u8) || reader.ValueTextEquals("servedVersionId"u8)
                || reader.ValueTextEquals("servedSha256"u8) || reader.ValueTextEquals("lastError"u8))
            {
                reader.Read();
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
                {
                    throw new JsonException("a model's text field is not a string");
                }
            }
            else if (reader.ValueTextEquals("canary"u8))
            {
                reader.Read();
                _ = reader.GetBoolean();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (!hasName || name is null)
        {
            throw new JsonException("a model has no name");
        }

        return last is not null && ReferenceEquals(name, last.Name) && state == last.State ? last : new FleetMemberModel { Name = name, State = state };
    }

    // The state the reader is on: the names instances write at once, anything else (another case, a number) as the full read takes it.
    private static ModelCacheState State(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            if (reader.ValueTextEquals("Ready"u8))
            {
                return ModelCacheState.Ready;
            }

            if (reader.ValueTextEquals("Degraded"u8))
            {
                return ModelCacheState.Degraded;
            }

            if (reader.ValueTextEquals("Loading"u8))
            {
                return ModelCacheState.Loading;
            }

            if (reader.ValueTextEquals("Failed"u8))
            {
                return ModelCacheState.Failed;
            }
        }

        return JsonSerializer.Deserialize(ref reader, FleetJsonContext.Default.ModelCacheState);
    }

    private static List<T> Copy<T>(IReadOnlyList<T>? last, int count)
    {
        var copy = new List<T>(Math.Max(count + 1, last?.Count ?? 0));
        for (int i = 0; i < count; i++)
        {
            copy.Add(last![i]);
        }

        return copy;
    }
}
