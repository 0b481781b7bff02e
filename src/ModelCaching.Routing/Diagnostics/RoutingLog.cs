using Microsoft.Extensions.Logging;

namespace ModelCaching.Routing.Diagnostics;

/// <summary>Source-generated log messages of the router. Event ids are stable (500–549): alerts may match on them.</summary>
internal static partial class RoutingLog
{
    internal static class EventIds
    {
        public const int MembershipChanged = 500;
        public const int MembershipReadFailed = 501;
        public const int ReplicasDisagree = 502;
        public const int NoOwner = 503;
        public const int RetryAfterFailure = 504;
        public const int RetryAfterMisdirected = 505;
        public const int InvalidModelName = 506;
        public const int BodyNotBuffered = 507;
        public const int MembershipReadRestored = 508;
        public const int SubscribeFailed = 509;
    }

    [LoggerMessage(EventIds.MembershipChanged, LogLevel.Information, "Routing, fleet '{Fleet}': {Count} live instances with an address: {Instances}.")]
    public static partial void MembershipChanged(ILogger logger, string fleet, int count, string instances);

    [LoggerMessage(EventIds.MembershipReadFailed, LogLevel.Warning, "Routing, fleet '{Fleet}': reading the membership from Redis failed; requests are routed by the last membership read ({Count} instances) until a read succeeds.")]
    public static partial void MembershipReadFailed(ILogger logger, string fleet, int count, Exception exception);

    [LoggerMessage(EventIds.ReplicasDisagree, LogLevel.Warning, "Routing, fleet '{Fleet}': the instances disagree on Placement.Replicas ({Counts}); the router takes the largest, {Replicas}, so every instance that counts itself an owner is tried (the owners under fewer replicas come first).")]
    public static partial void ReplicasDisagree(ILogger logger, string fleet, string counts, int replicas);

    [LoggerMessage(EventIds.NoOwner, LogLevel.Warning, "Routing, fleet '{Fleet}': no live instance with an address owns model '{ModelName}' ({Count} live instances known); answered 503.")]
    public static partial void NoOwner(ILogger logger, string fleet, string modelName, int count);

    [LoggerMessage(EventIds.RetryAfterFailure, LogLevel.Warning, "Routing, fleet '{Fleet}': instance '{Instance}' failed before answering for model '{ModelName}' ({Error}); it goes last among owners for {Period}, and the request goes to '{Next}'.")]
    public static partial void RetryAfterFailure(ILogger logger, string fleet, string instance, string modelName, string error, TimeSpan period, string next, Exception? exception);

    [LoggerMessage(EventIds.RetryAfterMisdirected, LogLevel.Information, "Routing, fleet '{Fleet}': instance '{Instance}' does not own model '{ModelName}' (421 Misdirected Request); the request goes to '{Next}', and the membership is read again now.")]
    public static partial void RetryAfterMisdirected(ILogger logger, string fleet, string instance, string modelName, string next);

    [LoggerMessage(EventIds.InvalidModelName, LogLevel.Debug, "Routing, fleet '{Fleet}': the route value '{RouteValue}' makes no valid model name; answered 400.")]
    public static partial void InvalidModelName(ILogger logger, string fleet, string routeValue);

    [LoggerMessage(EventIds.BodyNotBuffered, LogLevel.Debug, "Routing, fleet '{Fleet}': the request for model '{ModelName}' has a body of unknown length or longer than MaxBufferedBodyBytes ({Limit}); it is sent to one owner only.")]
    public static partial void BodyNotBuffered(ILogger logger, string fleet, string modelName, long limit);

    [LoggerMessage(EventIds.MembershipReadRestored, LogLevel.Information, "Routing, fleet '{Fleet}': reading the membership from Redis works again.")]
    public static partial void MembershipReadRestored(ILogger logger, string fleet);

    [LoggerMessage(EventIds.SubscribeFailed, LogLevel.Warning, "Routing, fleet '{Fleet}': subscribing to the fleet's members-changed channel failed; instances that join or leave are seen at the membership reads every {RefreshInterval} until the connection subscribes it.")]
    public static partial void SubscribeFailed(ILogger logger, string fleet, TimeSpan refreshInterval, Exception exception);
}
