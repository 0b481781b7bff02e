using Microsoft.Extensions.Logging;

namespace ModelCaching.Reload;

/// <summary>Source-generated logs of the change-detecting sources (file watching, HTTP polling).</summary>
internal static partial class ReloadLog
{
    internal static class EventIds
    {
        public const int FileChangeDetected = 301;
        public const int FileWatcherStarted = 302;
        public const int FileWatcherFailedPolling = 303;
        public const int FileWatcherError = 304;
        public const int FileWatcherRestarted = 305;
        public const int FileCheckFailed = 306;
        public const int PollScheduled = 311;
        public const int HttpNotModified = 312;
        public const int HttpFetched = 313;
        public const int ChangeCallbackFailed = 320;
    }

    [LoggerMessage(EventIds.FileChangeDetected, LogLevel.Information, "{Source} changed and has been stable for {StabilityMs:F0} ms (exists: {Exists}, target: {Target}, {Length} bytes).")]
    public static partial void FileChangeDetected(ILogger logger, string source, double stabilityMs, bool exists, string target, long length);

    [LoggerMessage(EventIds.FileWatcherStarted, LogLevel.Debug, "{Source} is watched in {Mode} mode ({Directories}).")]
    public static partial void FileWatcherStarted(ILogger logger, string source, FileWatchMode mode, string directories);

    [LoggerMessage(EventIds.FileWatcherFailedPolling, LogLevel.Warning, "The file-system watcher for {Source} could not start on {Directory}; polling every {Interval} instead.")]
    public static partial void FileWatcherFailedPolling(ILogger logger, Exception exception, string source, string directory, TimeSpan interval);

    [LoggerMessage(EventIds.FileWatcherError, LogLevel.Warning, "The file-system watcher for {Source} on {Directory} reported an error; restarting it and checking the file.")]
    public static partial void FileWatcherError(ILogger logger, Exception exception, string source, string directory);

    [LoggerMessage(EventIds.FileWatcherRestarted, LogLevel.Information, "The file-system watcher for {Source} was restarted on {Directory}.")]
    public static partial void FileWatcherRestarted(ILogger logger, string source, string directory);

    [LoggerMessage(EventIds.FileCheckFailed, LogLevel.Warning, "Checking {Source} for changes failed; the next event or poll checks again.")]
    public static partial void FileCheckFailed(ILogger logger, Exception exception, string source);

    [LoggerMessage(EventIds.PollScheduled, LogLevel.Trace, "{Source} will be polled in {Delay}.")]
    public static partial void PollScheduled(ILogger logger, string source, TimeSpan delay);

    [LoggerMessage(EventIds.HttpNotModified, LogLevel.Debug, "{Source} answered 304 Not Modified.")]
    public static partial void HttpNotModified(ILogger logger, string source);

    [LoggerMessage(EventIds.HttpFetched, LogLevel.Debug, "{Source} answered {StatusCode} with {Length} bytes (ETag {ETag}).")]
    public static partial void HttpFetched(ILogger logger, string source, int statusCode, long length, string? etag);

    [LoggerMessage(EventIds.ChangeCallbackFailed, LogLevel.Warning, "A change callback of {Source} threw.")]
    public static partial void ChangeCallbackFailed(ILogger logger, Exception exception, string source);
}
