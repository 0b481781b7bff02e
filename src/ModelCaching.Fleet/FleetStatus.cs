namespace ModelCaching.Fleet;

/// <summary>The fleet as its live instances report it (<see cref="IModelFleet.GetStatusAsync"/>).</summary>
public sealed record FleetStatus
{
    /// <summary>The fleet's name.</summary>
    public required string FleetName { get; init; }

    /// <summary>Per model: the desired version, how many instances serve which version, and the failures.</summary>
    public required IReadOnlyList<FleetModelStatus> Models { get; init; }

    /// <summary>Every instance whose membership entry is alive.</summary>
    public required IReadOnlyList<FleetMember> Members { get; init; }
}
