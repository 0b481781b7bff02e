using System.Diagnostics;

namespace ModelCaching.Diagnostics;

/// <summary>The <c>ModelCaching</c> activity source: one span per load, none per request.</summary>
internal static class ModelCacheActivitySource
{
    public static readonly ActivitySource Instance = new(ModelCacheDiagnostics.ActivitySourceName);
}
