using Microsoft.Extensions.Logging;

namespace ModelCaching.ML.Diagnostics;

/// <summary>Source-generated logs of ModelCaching.ML; event ids 2000–2099.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2000, EventName = "PoolGenerationRetired", Level = LogLevel.Debug,
        Message = "Prediction pool of model '{ModelName}' moved to a new model generation; generation {Generation} retired with {LiveEngines} engines (idle ones disposed now, the others on return)")]
    public static partial void GenerationRetired(ILogger logger, string modelName, long generation, int liveEngines);

    [LoggerMessage(EventId = 2001, EventName = "PoolEngineFaulted", Level = LogLevel.Warning,
        Message = "A prediction on model '{ModelName}' threw; its engine was dropped, not returned to the pool")]
    public static partial void EngineFaulted(ILogger logger, string modelName);

    [LoggerMessage(EventId = 2002, EventName = "PoolExtraEngineCreated", Level = LogLevel.Debug,
        Message = "Prediction pool of model '{ModelName}' is exhausted ({MaximumEngines} engines in use); created an extra engine that is dropped on return")]
    public static partial void ExtraEngineCreated(ILogger logger, string modelName, int maximumEngines);

    [LoggerMessage(EventId = 2003, EventName = "PoolEngineDisposeFailed", Level = LogLevel.Warning,
        Message = "Disposing a prediction engine of model '{ModelName}' threw")]
    public static partial void EngineDisposeFailed(ILogger logger, Exception exception, string modelName);
}
