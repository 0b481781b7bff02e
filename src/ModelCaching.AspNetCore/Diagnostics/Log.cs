using Microsoft.Extensions.Logging;

namespace ModelCaching.AspNetCore.Diagnostics;

/// <summary>
/// Source-generated log messages of the admin endpoints: an audit trail of who reloaded or rolled back
/// which model. Event ids are stable (100–199, apart from the core package's 1–99).
/// </summary>
internal static partial class Log
{
    internal static class EventIds
    {
        public const int ReloadRequested = 100;
        public const int ReloadFailed = 101;
        public const int RollbackRequested = 102;
        public const int RollbackFailed = 103;
        public const int EndpointsMapped = 104;
        public const int FleetChanged = 105;
        public const int FleetChangeRefused = 106;
        public const int FleetEndpointsMapped = 107;
    }

    [LoggerMessage(EventIds.ReloadRequested, LogLevel.Information, "Reload of model '{ModelName}' requested by {User}; now serving version {VersionId} (generation {Generation}).")]
    public static partial void ReloadRequested(ILogger logger, string modelName, string user, string versionId, long generation);

    [LoggerMessage(EventIds.ReloadFailed, LogLevel.Warning, "Reload of model '{ModelName}' requested by {User} failed: {Cause}")]
    public static partial void ReloadFailed(ILogger logger, string modelName, string user, string cause);

    [LoggerMessage(EventIds.RollbackRequested, LogLevel.Warning, "Rollback of model '{ModelName}' requested by {User}; now serving version {VersionId} (generation {Generation}).")]
    public static partial void RollbackRequested(ILogger logger, string modelName, string user, string versionId, long generation);

    [LoggerMessage(EventIds.RollbackFailed, LogLevel.Warning, "Rollback of model '{ModelName}' requested by {User} failed: {Cause}")]
    public static partial void RollbackFailed(ILogger logger, string modelName, string user, string cause);

    [LoggerMessage(EventIds.EndpointsMapped, LogLevel.Debug, "Model cache endpoints mapped at '{Pattern}': admin policy '{AdminPolicy}', status access '{StatusAccess}'.")]
    public static partial void EndpointsMapped(ILogger logger, string pattern, string adminPolicy, string statusAccess);

    [LoggerMessage(EventIds.FleetChanged, LogLevel.Warning, "Fleet '{Fleet}': {Action} of model '{ModelName}' requested by {User}; version {VersionId}.")]
    public static partial void FleetChanged(ILogger logger, string fleet, string action, string modelName, string user, string versionId);

    [LoggerMessage(EventIds.FleetChangeRefused, LogLevel.Warning, "Fleet '{Fleet}': {Action} of model '{ModelName}' requested by {User} was refused: {Cause}")]
    public static partial void FleetChangeRefused(ILogger logger, string fleet, string action, string modelName, string user, string cause);

    [LoggerMessage(EventIds.FleetEndpointsMapped, LogLevel.Debug, "Fleet endpoints of fleet '{Fleet}' mapped at '{Pattern}': policy '{Policy}'.")]
    public static partial void FleetEndpointsMapped(ILogger logger, string fleet, string pattern, string policy);
}
