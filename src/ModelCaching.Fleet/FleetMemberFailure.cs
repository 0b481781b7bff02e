namespace ModelCaching.Fleet;

/// <summary>An instance whose last attempt at a model's desired version failed or was refused.</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="VersionId">The version it failed on, when known.</param>
/// <param name="Error">Why.</param>
public sealed record FleetMemberFailure(string InstanceId, string? VersionId, string Error);
