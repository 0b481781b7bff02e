using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelCaching.AspNetCore;

/// <summary>
/// Source-generated serialization of the status responses, so the endpoints work the same whatever JSON
/// settings (or trimmed, AOT-compiled type resolvers) the host application uses.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ModelStatus))]
[JsonSerializable(typeof(IReadOnlyList<ModelStatus>))]
[JsonSerializable(typeof(IReadOnlyList<ModelMemoryBudgetStatus>))]
internal sealed partial class ModelCacheStatusJsonContext : JsonSerializerContext;
