using Microsoft.Extensions.Logging;

namespace ModelCaching.Diagnostics;

/// <summary>Source-generated log messages. Event ids are stable: alerts may match on them.</summary>
internal static partial class Log
{
    internal static class EventIds
    {
        public const int LoadStarted = 1;
        public const int Loaded = 2;
        public const int LoadFailed = 3;
        public const int ReloadFailedServingLastGood = 4;
        public const int Unchanged = 5;
        public const int KnownBadContentSkipped = 6;
        public const int Unloaded = 7;
        public const int RetryScheduled = 8;
        public const int ChangeDetected = 9;
        public const int GenerationDisposed = 10;
        public const int GenerationDisposeFailed = 11;
        public const int RolledBack = 12;
        public const int LoadAbandoned = 13;
        public const int StartupLoadFailed = 14;
        public const int ReloadEventHandlerFailed = 15;
        public const int Recovered = 16;
        public const int StartupLoadFailedStopping = 17;
        public const int ReloadRefused = 18;
        public const int ReloadForced = 19;
        public const int ShutdownLeftLoadsRunning = 20;
        public const int TemplateModelNotLoaded = 21;
    }

    [LoggerMessage(EventIds.LoadStarted, LogLevel.Debug, "Loading model '{ModelName}' from {Source} ({Reason}).")]
    public static partial void LoadStarted(ILogger logger, string modelName, string source, ModelLoadReason reason);

    [LoggerMessage(EventIds.Loaded, LogLevel.Information, "Model '{ModelName}' version {VersionId} (generation {Generation}) is serving, loaded from {Source} in {DurationMs:F1} ms ({Reason}).")]
    public static partial void Loaded(ILogger logger, string modelName, string versionId, long generation, string source, double durationMs, ModelLoadReason reason);

    [LoggerMessage(EventIds.LoadFailed, LogLevel.Error, "Model '{ModelName}' could not be loaded from {Source} and no model is serving ({Reason}).")]
    public static partial void LoadFailed(ILogger logger, Exception exception, string modelName, string source, ModelLoadReason reason);

    [LoggerMessage(EventIds.ReloadFailedServingLastGood, LogLevel.Warning, "Reload of model '{ModelName}' from {Source} failed ({Reason}); still serving version {VersionId} (generation {Generation}).")]
    public static partial void ReloadFailedServingLastGood(ILogger logger, Exception exception, string modelName, string source, ModelLoadReason reason, string versionId, long generation);

    [LoggerMessage(EventIds.Unchanged, LogLevel.Debug, "Model '{ModelName}' at {Source} is unchanged (version {VersionId}); nothing to load ({Reason}).")]
    public static partial void Unchanged(ILogger logger, string modelName, string source, string versionId, ModelLoadReason reason);

    [LoggerMessage(EventIds.KnownBadContentSkipped, LogLevel.Warning, "Model '{ModelName}' at {Source} still has content {ContentHash}, which failed before; it is not loaded again until it changes.")]
    public static partial void KnownBadContentSkipped(ILogger logger, string modelName, string source, string contentHash);

    [LoggerMessage(EventIds.Unloaded, LogLevel.Information, "Model '{ModelName}' version {VersionId} was unloaded ({Reason}).")]
    public static partial void Unloaded(ILogger logger, string modelName, string versionId, string reason);

    [LoggerMessage(EventIds.RetryScheduled, LogLevel.Information, "Model '{ModelName}' will be loaded again in {Delay} (attempt {Attempt}).")]
    public static partial void RetryScheduled(ILogger logger, string modelName, TimeSpan delay, int attempt);

    [LoggerMessage(EventIds.ChangeDetected, LogLevel.Debug, "Model '{ModelName}': {Source} reported a change.")]
    public static partial void ChangeDetected(ILogger logger, string modelName, string source);

    [LoggerMessage(EventIds.GenerationDisposed, LogLevel.Debug, "Model '{ModelName}' generation {Generation} (version {VersionId}) was disposed.")]
    public static partial void GenerationDisposed(ILogger logger, string modelName, long generation, string versionId);

    [LoggerMessage(EventIds.GenerationDisposeFailed, LogLevel.Warning, "Disposing model '{ModelName}' generation {Generation} failed.")]
    public static partial void GenerationDisposeFailed(ILogger logger, Exception exception, string modelName, long generation);

    [LoggerMessage(EventIds.RolledBack, LogLevel.Warning, "Model '{ModelName}' was rolled back from version {FromVersionId} to version {ToVersionId}.")]
    public static partial void RolledBack(ILogger logger, string modelName, string fromVersionId, string toVersionId);

    [LoggerMessage(EventIds.ReloadRefused, LogLevel.Warning, "Reload of model '{ModelName}' requested by {RequestedBy} was refused: the source has version {VersionId}, which was rolled back from; version {ServingVersionId} keeps serving. Reload with force to load it.")]
    public static partial void ReloadRefused(ILogger logger, string modelName, string requestedBy, string versionId, string servingVersionId);

    [LoggerMessage(EventIds.ReloadForced, LogLevel.Warning, "Reload of model '{ModelName}' requested by {RequestedBy} was forced: version {VersionId}, which was rolled back from, is serving again.")]
    public static partial void ReloadForced(ILogger logger, string modelName, string requestedBy, string versionId);

    [LoggerMessage(EventIds.LoadAbandoned, LogLevel.Warning, "A timed-out or cancelled load of model '{ModelName}' finished late; its model was disposed, not served.")]
    public static partial void LoadAbandoned(ILogger logger, string modelName);

    [LoggerMessage(EventIds.StartupLoadFailed, LogLevel.Error, "Eager model '{ModelName}' could not be loaded at start-up; readiness reports Unhealthy and the load is retried in the background.")]
    public static partial void StartupLoadFailed(ILogger logger, Exception exception, string modelName);

    [LoggerMessage(EventIds.StartupLoadFailedStopping, LogLevel.Critical, "Eager model '{ModelName}' could not be loaded at start-up and ThrowOnStartupFailure is on: the host's start fails with this exception.")]
    public static partial void StartupLoadFailedStopping(ILogger logger, Exception exception, string modelName);

    [LoggerMessage(EventIds.ReloadEventHandlerFailed, LogLevel.Warning, "A Reloaded or Unloaded event handler of model '{ModelName}' threw.")]
    public static partial void ReloadEventHandlerFailed(ILogger logger, Exception exception, string modelName);

    [LoggerMessage(EventIds.Recovered, LogLevel.Information, "Model '{ModelName}': {Source} holds the serving version {VersionId} again; the cache is Ready.")]
    public static partial void Recovered(ILogger logger, string modelName, string source, string versionId);

    [LoggerMessage(EventIds.ShutdownLeftLoadsRunning, LogLevel.Warning, "Shutdown waited {Bound} for running loads to end; {Count} model(s) still have one whose callback ignores cancellation ({ModelNames}). Their threads are left to end on their own.")]
    public static partial void ShutdownLeftLoadsRunning(ILogger logger, TimeSpan bound, int count, string modelNames);

    [LoggerMessage(EventIds.TemplateModelNotLoaded, LogLevel.Warning, "Model '{ModelName}' of template '{TemplateName}' could not be loaded from {Source} and is not kept: {Cause}. {Suppressed} other first load(s) of this template failed since the last such line (one line per {Interval} at most).")]
    public static partial void TemplateModelNotLoaded(ILogger logger, Exception exception, string modelName, string templateName, string source, string cause, long suppressed, TimeSpan interval);
}
