using System.Text.Json;
using System.Text.Json.Serialization;
using ModelCaching.Fleet;

namespace ModelCaching.AspNetCore.Fleet;

/// <summary>Source-generated serialization of the fleet endpoints' bodies (enums as their names), whatever JSON settings the host uses.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(FleetStatus))]
[JsonSerializable(typeof(FleetDesiredVersion))]
[JsonSerializable(typeof(FleetVersion))]
[JsonSerializable(typeof(FleetLocationPublish))]
internal sealed partial class ModelFleetJsonContext : JsonSerializerContext;

/// <summary>The JSON body of <c>POST /fleet/models/{name}/publish</c> for a version whose bytes stay where they are.</summary>
/// <param name="Location">An absolute file path or an <c>http(s)</c> address every instance can read.</param>
/// <param name="Sha256">The SHA-256 of the bytes (64 hex digits).</param>
/// <param name="SizeBytes">Their length.</param>
internal sealed record FleetLocationPublish(string? Location, string? Sha256, long SizeBytes);
