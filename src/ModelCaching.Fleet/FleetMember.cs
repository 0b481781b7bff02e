namespace ModelCaching.Fleet;

/// <summary>One live instance of the fleet, as it last reported itself.</summary>
public sealed record FleetMember
{
    /// <summary>The instance's id (<c>RedisFleetOptions.InstanceId</c> (ModelCaching.Redis)).</summary>
    public required string InstanceId { get; init; }

    /// <summary>The machine it runs on.</summary>
    public required string Host { get; init; }

    /// <summary>When the instance joined the fleet.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When it last reported.</summary>
    public DateTimeOffset ReportedAt { get; init; }

    /// <summary>The address routers reach the instance on (<c>RedisFleetOptions.Address</c>), or <see langword="null"/>.</summary>
    public string? Address { get; init; }

    /// <summary>How many instances own each placed model, as this instance is configured (<c>RedisFleetOptions.Placement.Replicas</c>); 0 when it places nothing.</summary>
    public int Replicas { get; init; }

    /// <summary>Each fleet model on the instance.</summary>
    public required IReadOnlyList<FleetMemberModel> Models { get; init; }
}
