namespace ModelCaching;

/// <summary>
/// Names of the diagnostics ModelCaching publishes, to subscribe with OpenTelemetry
/// (<c>AddMeter(ModelCacheDiagnostics.MeterName)</c>, <c>AddSource(ModelCacheDiagnostics.ActivitySourceName)</c>).
/// </summary>
public static class ModelCacheDiagnostics
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/>: <c>ModelCaching</c>.</summary>
    public const string MeterName = "ModelCaching";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/>: <c>ModelCaching</c>.</summary>
    public const string ActivitySourceName = "ModelCaching";
}
