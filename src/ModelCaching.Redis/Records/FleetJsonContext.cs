using System.Text.Json.Serialization;

namespace ModelCaching.Redis.Records;

/// <summary>The JSON the fleet writes to Redis: records and membership entries (source-generated, no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FleetVersion))]
[JsonSerializable(typeof(FleetDesiredVersion))]
[JsonSerializable(typeof(FleetMember))]
internal sealed partial class FleetJsonContext : JsonSerializerContext;
