using Microsoft.Extensions.Logging;

namespace ModelCaching.Redis.Diagnostics;

/// <summary>Source-generated log messages of the fleet. Event ids are stable (300–399): alerts may match on them.</summary>
internal static partial class FleetLog
{
    internal static class EventIds
    {
        public const int Published = 300;
        public const int DesiredChanged = 301;
        public const int RecordRefused = 302;
        public const int ControlPlaneLost = 303;
        public const int ControlPlaneRestored = 304;
        public const int ReconcileFailed = 305;
        public const int ReportFailed = 306;
        public const int DesiredVersionMissing = 307;
        public const int CatchingUp = 308;
        public const int Joined = 309;
        public const int SubscribeFailed = 310;
        public const int ReadDesiredFailed = 311;
        public const int RolloutStarted = 312;
        public const int RolloutStopped = 313;
        public const int StopRolloutFailed = 314;
        public const int AnnounceMembershipFailed = 315;
    }

    [LoggerMessage(EventIds.Published, LogLevel.Information, "Fleet '{Fleet}': published model '{ModelName}' version {VersionId} (SHA-256 {Sha256}, bytes in {Storage}); pinned on: {PinnedOn}.")]
    public static partial void Published(ILogger logger, string fleet, string modelName, string versionId, string sha256, FleetContentStorage storage, string? pinnedOn);

    [LoggerMessage(EventIds.DesiredChanged, LogLevel.Information, "Fleet '{Fleet}': model '{ModelName}' now wants version {VersionId} ({Action}, pinned: {Pinned}).")]
    public static partial void DesiredChanged(ILogger logger, string fleet, string modelName, FleetAction action, string versionId, bool pinned);

    [LoggerMessage(EventIds.RecordRefused, LogLevel.Error, "Fleet '{Fleet}': refused the desired version {VersionId} of model '{ModelName}' (record revision {Revision}): {Reason}. The instance keeps what it serves.")]
    public static partial void RecordRefused(ILogger logger, string fleet, string modelName, string versionId, long revision, string reason);

    [LoggerMessage(EventIds.ControlPlaneLost, LogLevel.Warning, "Fleet '{Fleet}': the connection to Redis was lost ({FailureType}); models keep serving what they have, and the instance catches up when it is back.")]
    public static partial void ControlPlaneLost(ILogger logger, Exception? exception, string fleet, string failureType);

    [LoggerMessage(EventIds.ControlPlaneRestored, LogLevel.Information, "Fleet '{Fleet}': the connection to Redis is back; reading every desired version.")]
    public static partial void ControlPlaneRestored(ILogger logger, string fleet);

    [LoggerMessage(EventIds.ReconcileFailed, LogLevel.Warning, "Fleet '{Fleet}': reading the desired versions failed; the next reconciliation tries again.")]
    public static partial void ReconcileFailed(ILogger logger, Exception exception, string fleet);

    [LoggerMessage(EventIds.ReportFailed, LogLevel.Debug, "Fleet '{Fleet}': writing the membership entry of instance {InstanceId} failed; the next heartbeat tries again.")]
    public static partial void ReportFailed(ILogger logger, Exception exception, string fleet, string instanceId);

    [LoggerMessage(EventIds.DesiredVersionMissing, LogLevel.Warning, "Fleet '{Fleet}': Redis has no desired version of model '{ModelName}' any more (was {VersionId}; Redis restarted empty?). The instance keeps serving what it has.")]
    public static partial void DesiredVersionMissing(ILogger logger, string fleet, string modelName, string versionId);

    [LoggerMessage(EventIds.CatchingUp, LogLevel.Information, "Fleet '{Fleet}': model '{ModelName}' serves {Served}, the fleet wants {VersionId}; reloading in {DelayMs} ms.")]
    public static partial void CatchingUp(ILogger logger, string fleet, string modelName, string served, string versionId, double delayMs);

    [LoggerMessage(EventIds.RolloutStarted, LogLevel.Information, "Fleet '{Fleet}': model '{ModelName}' version {VersionId} goes to the canaries {Canaries} first; the rest of the fleet stays on {PreviousVersionId} until it is promoted.")]
    public static partial void RolloutStarted(ILogger logger, string fleet, string modelName, string versionId, string canaries, string? previousVersionId);

    [LoggerMessage(EventIds.RolloutStopped, LogLevel.Warning, "Fleet '{Fleet}': the rollout of model '{ModelName}' version {VersionId} stopped: {Reason}. Every instance serves {PreviousVersionId}; the rest of the fleet never tries the version.")]
    public static partial void RolloutStopped(ILogger logger, string fleet, string modelName, string versionId, string? previousVersionId, string reason);

    [LoggerMessage(EventIds.StopRolloutFailed, LogLevel.Warning, "Fleet '{Fleet}': stopping the rollout of model '{ModelName}' version {VersionId} failed; the next round tries again.")]
    public static partial void StopRolloutFailed(ILogger logger, Exception exception, string fleet, string modelName, string versionId);

    [LoggerMessage(EventIds.AnnounceMembershipFailed, LogLevel.Warning, "Fleet '{Fleet}': announcing that instance {InstanceId} {Change} failed; routers and placing instances see it at their next membership read.")]
    public static partial void AnnounceMembershipFailed(ILogger logger, Exception exception, string fleet, string instanceId, string change);

    [LoggerMessage(EventIds.Joined, LogLevel.Information, "Fleet '{Fleet}': instance {InstanceId} joined; it manages {Models}.")]
    public static partial void Joined(ILogger logger, string fleet, string instanceId, string models);

    [LoggerMessage(EventIds.SubscribeFailed, LogLevel.Warning, "Fleet '{Fleet}': subscribing to a fleet channel failed; the connection subscribes it again when it reconnects, and reconciliation reads the records on its timer meanwhile.")]
    public static partial void SubscribeFailed(ILogger logger, Exception exception, string fleet);

    [LoggerMessage(EventIds.ReadDesiredFailed, LogLevel.Warning, "Fleet '{Fleet}': reading the desired version of model '{ModelName}' failed; the load uses the last version this instance read ({VersionId}).")]
    public static partial void ReadDesiredFailed(ILogger logger, Exception exception, string fleet, string modelName, string? versionId);
}
