namespace ModelCaching.Samples.WebApi;

/// <summary>The answer of <c>GET /</c>: what this API offers, for someone who just started it.</summary>
/// <param name="Model">The served model's name.</param>
/// <param name="ModelFile">The watched model file; replace it atomically to publish a new version.</param>
/// <param name="Endpoints">The endpoints, one line each.</param>
public sealed record ApiIndex(string Model, string ModelFile, IReadOnlyList<string> Endpoints);
