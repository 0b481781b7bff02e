using Microsoft.Extensions.Logging;

namespace ModelCaching.Onnx.Diagnostics;

/// <summary>Source-generated logs of ModelCaching.Onnx; event ids 3000–3099.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, EventName = "OnnxSessionCreated", Level = LogLevel.Debug,
        Message = "ONNX Runtime session of model '{ModelName}' created from {Location} in {ElapsedMilliseconds:F1} ms ({Inputs} inputs, {Outputs} outputs)")]
    public static partial void SessionCreated(ILogger logger, string modelName, string location, double elapsedMilliseconds, int inputs, int outputs);

    [LoggerMessage(EventId = 3001, EventName = "OnnxSignatureInferred", Level = LogLevel.Information,
        Message = "Model '{ModelName}': new versions must keep the first generation's signature: {Signature}")]
    public static partial void SignatureInferred(ILogger logger, string modelName, string signature);

    [LoggerMessage(EventId = 3002, EventName = "OnnxWarmUpCompleted", Level = LogLevel.Debug,
        Message = "Model '{ModelName}': warm-up run took {ElapsedMilliseconds:F2} ms")]
    public static partial void WarmUpCompleted(ILogger logger, string modelName, double elapsedMilliseconds);
}
