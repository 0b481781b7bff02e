using Microsoft.Extensions.Logging;

namespace ModelCaching.Redis.Diagnostics;

/// <summary>The log messages of placement (<see cref="RedisFleetOptions.Placement"/>). Event ids are stable (400–449).</summary>
internal static partial class FleetLog
{
    internal static class PlacementEventIds
    {
        public const int FailOpen = 400;
        public const int MembersChanged = 401;
        public const int Warming = 402;
        public const int WarmFailed = 403;
        public const int Released = 404;
        public const int ReadMembersFailed = 405;
        public const int WarmSkipped = 406;
    }

    [LoggerMessage(PlacementEventIds.FailOpen, LogLevel.Warning, "Fleet '{Fleet}': instance {InstanceId} has no view of the membership yet (Redis not reached), so it serves every placed model, owned or not, until it reads one.")]
    public static partial void PlacementFailOpen(ILogger logger, string fleet, string instanceId);

    [LoggerMessage(PlacementEventIds.MembersChanged, LogLevel.Information, "Fleet '{Fleet}': instance {InstanceId} places models over {Members} ({Replicas} owners each).")]
    public static partial void PlacementMembersChanged(ILogger logger, string fleet, string instanceId, string members, int replicas);

    [LoggerMessage(PlacementEventIds.Warming, LogLevel.Information, "Fleet '{Fleet}': model '{ModelName}' moves here from {From}; loading it before requests arrive.")]
    public static partial void PlacementWarming(ILogger logger, string fleet, string modelName, string from);

    [LoggerMessage(PlacementEventIds.WarmFailed, LogLevel.Warning, "Fleet '{Fleet}': loading model '{ModelName}' ahead of its requests failed; the first request loads it.")]
    public static partial void PlacementWarmFailed(ILogger logger, Exception exception, string fleet, string modelName);

    [LoggerMessage(PlacementEventIds.Released, LogLevel.Information, "Fleet '{Fleet}': released model '{ModelName}' to its owners {Owners} (they have it loaded: {HandedOver}); leases taken before keep it until they end.")]
    public static partial void PlacementReleased(ILogger logger, string fleet, string modelName, string owners, bool handedOver);

    [LoggerMessage(PlacementEventIds.WarmSkipped, LogLevel.Information, "Fleet '{Fleet}': not loading model '{ModelName}' ahead of its requests: the placed models' memory budget has no room for a model of the average size ({UsedBytes} of {LimitBytes} bytes used), and a warm-up must not evict what serves; its first request loads it.")]
    public static partial void PlacementWarmSkipped(ILogger logger, string fleet, string modelName, long usedBytes, long limitBytes);

    [LoggerMessage(PlacementEventIds.ReadMembersFailed, LogLevel.Warning, "Fleet '{Fleet}': reading the membership failed; placement keeps its last view until the next heartbeat.")]
    public static partial void PlacementReadMembersFailed(ILogger logger, Exception exception, string fleet);
}
