namespace ModelCaching.Fleet;

/// <summary>One model across the fleet.</summary>
public sealed record FleetModelStatus
{
    /// <summary>The model's name.</summary>
    public required string Name { get; init; }

    /// <summary>The desired version, or <see langword="null"/> when nothing is published.</summary>
    public FleetDesiredVersion? Desired { get; init; }

    /// <summary>How many instances serve each version (instances serving nothing are not counted), most served first.</summary>
    public required IReadOnlyList<FleetVersionCount> Serving { get; init; }

    /// <summary>The instances whose last attempt at this model failed or was refused, with why.</summary>
    public required IReadOnlyList<FleetMemberFailure> Failures { get; init; }

    /// <summary>How many live instances report this model.</summary>
    public int Instances { get; init; }
}
