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

    /// <summary>The bytes the instance's models of placed templates count against their memory budget now (the template's budget, else the provider's), or <see langword="null"/> without a budget or placement.</summary>
    public long? MemoryUsedBytes { get; init; }

    /// <summary>The limit of that memory budget, or <see langword="null"/> without a budget or placement.</summary>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>
    /// The models of placed templates the instance has loaded now, in ordinal order: those it owns and, during a handoff,
    /// those it keeps until their new owners have them; <see langword="null"/> when it places nothing.
    /// </summary>
    public IReadOnlyList<string>? PlacedModels { get; init; }

    /// <summary>Each fleet model on the instance.</summary>
    public required IReadOnlyList<FleetMemberModel> Models { get; init; }
}
