namespace ModelCaching.Fleet;

/// <summary>Where a staged rollout is (<see cref="FleetRollout"/>).</summary>
public enum FleetRolloutStage
{
    /// <summary>Only the canaries load the new version; the rest of the fleet serves the previous one.</summary>
    Canary,

    /// <summary>Promoted: every instance loads the new version.</summary>
    Promoted,

    /// <summary>A canary failed on the new version: every instance serves the previous one; the record says why.</summary>
    Stopped,

    /// <summary>Aborted by an operator: every instance serves the previous one.</summary>
    Aborted,
}
