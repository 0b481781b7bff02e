namespace ModelCaching;

/// <summary>The model a <c>AddHealthChecks().AddModelCache(modelName)</c> call checks (<see langword="null"/>: all of them).</summary>
internal sealed record ModelCacheHealthCheckTarget(string? ModelName);
