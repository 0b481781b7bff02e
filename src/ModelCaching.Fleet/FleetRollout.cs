namespace ModelCaching.Fleet;

/// <summary>
/// A staged rollout of the desired version (<see cref="FleetPublishOptions.CanaryShare"/>): while it is at
/// <see cref="FleetRolloutStage.Canary"/>, only <see cref="Canaries"/> load the new version and the rest of the fleet
/// serves <see cref="Previous"/>. A canary's failed load stops it by itself (<see cref="FleetRolloutStage.Stopped"/>, with
/// <see cref="Reason"/>); <see cref="IModelFleet.PromoteAsync"/> sends it to every instance, <see cref="IModelFleet.AbortAsync"/>
/// takes it back.
/// </summary>
public sealed record FleetRollout
{
    /// <summary>Where the rollout is.</summary>
    public FleetRolloutStage Stage { get; init; }

    /// <summary>The share of live instances asked for (0 to 1, exclusive).</summary>
    public double CanaryShare { get; init; }

    /// <summary>The instances that load the new version first, chosen at publish among the live instances that report the model.</summary>
    public required IReadOnlyList<string> Canaries { get; init; }

    /// <summary>
    /// What the rest of the fleet serves meanwhile (and every instance after a stop or an abort): the version the fleet
    /// served when the rollout was published, or <see langword="null"/> when nothing was published before (instances then
    /// keep what they have).
    /// </summary>
    public FleetVersion? Previous { get; init; }

    /// <summary>Why the rollout stopped or was aborted (which canary failed, with what), or <see langword="null"/>.</summary>
    public string? Reason { get; init; }
}
