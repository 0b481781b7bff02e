namespace ModelCaching.Samples.WebApi.Prediction;

/// <summary>The answer of <c>POST /predict</c>.</summary>
/// <param name="FareAmount">The predicted fare in dollars.</param>
/// <param name="Model">The model's name.</param>
/// <param name="ModelVersion">The version (content SHA-256) serving right after the prediction; during a swap it can be one ahead of the version that predicted.</param>
/// <param name="ModelGeneration">The generation number of that version.</param>
public sealed record FareResponse(float FareAmount, string Model, string? ModelVersion, long? ModelGeneration);
