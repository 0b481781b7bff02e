using Microsoft.Extensions.Logging;

namespace ModelCaching;

/// <summary>Source-generated logs of the Azure blob source (category <c>ModelCaching.AzureBlobModelSource</c>).</summary>
// Polling (event 311, poll scheduled) and a change callback that threw (event 320) are logged by the core's PollingClock,
// which this source shares with HttpModelSource.
internal static partial class AzureBlobLog
{
    internal static class EventIds
    {
        public const int NotModified = 331;
        public const int Downloaded = 332;
        public const int ChangedWhileReading = 333;
    }

    [LoggerMessage(EventIds.NotModified, LogLevel.Debug, "{Source} is unchanged (304 Not Modified on ETag {ETag}); {UnchangedPolls} unchanged polls so far.")]
    public static partial void NotModified(ILogger logger, string source, string etag, long unchangedPolls);

    [LoggerMessage(EventIds.Downloaded, LogLevel.Debug, "{Source}: downloaded {Length} bytes (ETag {ETag}, version {VersionId}, Content-MD5 checked: {Md5Checked}).")]
    public static partial void Downloaded(ILogger logger, string source, long length, string etag, string? versionId, bool md5Checked);

    [LoggerMessage(EventIds.ChangedWhileReading, LogLevel.Debug, "{Source} changed between its properties and its download (412 on ETag {ETag}); reading it again.")]
    public static partial void ChangedWhileReading(ILogger logger, string source, string etag);
}
