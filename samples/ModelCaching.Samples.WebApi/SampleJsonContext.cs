using System.Text.Json;
using System.Text.Json.Serialization;
using ModelCaching.Samples.WebApi.Prediction;
using ModelCaching.Samples.WebApi.Publishing;

namespace ModelCaching.Samples.WebApi;

/// <summary>Source-generated JSON for the sample's own requests and responses (camelCase, numbers also read from strings).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(FareRequest))]
[JsonSerializable(typeof(FareResponse))]
[JsonSerializable(typeof(PublishResponse))]
[JsonSerializable(typeof(ApiIndex))]
public sealed partial class SampleJsonContext : JsonSerializerContext;
