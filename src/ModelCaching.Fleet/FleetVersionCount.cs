namespace ModelCaching.Fleet;

/// <summary>How many instances serve one version of a model.</summary>
/// <param name="VersionId">The fleet version id, or <c>local:{first 12 hex digits of the SHA-256}</c> for content that did not come from the fleet.</param>
/// <param name="Instances">How many instances serve it.</param>
public sealed record FleetVersionCount(string VersionId, int Instances);
