using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>Forwards the <see cref="MLContext"/>'s log to <see cref="ILogger"/> at trace level, as Microsoft.Extensions.ML does.</summary>
internal sealed partial class MLContextLogForwarder(ILogger<MLContext> logger) : IPostConfigureOptions<MLOptions>
{
    public void PostConfigure(string? name, MLOptions options)
    {
        if (logger.IsEnabled(LogLevel.Trace))
        {
            options.MLContext.Log += OnLog;
        }
    }

    private void OnLog(object? sender, LoggingEventArgs e) => MLContextMessage(logger, e.Message);

    [LoggerMessage(EventId = 2050, EventName = "MLContextLog", Level = LogLevel.Trace, Message = "{Message}")]
    private static partial void MLContextMessage(ILogger logger, string message);
}
