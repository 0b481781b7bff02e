namespace ModelCaching.Samples.WebApi.Publishing;

/// <summary>The answer of <c>POST /admin/publish/{variant}</c>.</summary>
/// <param name="Variant">The bundled variant that was published.</param>
/// <param name="Path">The served model file it was written to.</param>
/// <param name="Sha256">The content's SHA-256: the version id <c>GET /models</c> shows once the watcher has reloaded it.</param>
public sealed record PublishResponse(string Variant, string Path, string Sha256);
