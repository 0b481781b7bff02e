namespace ModelCaching;

/// <summary>A memory budget at one moment: its limit and what counts against it (<see cref="IModelCacheProvider.GetMemoryBudgets"/>).</summary>
public sealed class ModelMemoryBudgetStatus
{
    /// <summary>What the budget covers: <c>provider</c> (<see cref="ModelCacheOptions.MemoryBudgetBytes"/>), or a template's name.</summary>
    public required string Scope { get; init; }

    /// <summary>The limit, in bytes.</summary>
    public long LimitBytes { get; init; }

    /// <summary>Bytes of the generations serving now.</summary>
    public long ResidentBytes { get; init; }

    /// <summary>Bytes of evicted or swapped-out generations that leases, pooled engines or the drain delay still hold.</summary>
    public long DrainingBytes { get; init; }

    /// <summary>Bytes reserved by loads in progress.</summary>
    public long ReservedBytes { get; init; }

    /// <summary>Everything counted against the limit: resident, draining and reserved. It never exceeds the limit while an evictable model is resident.</summary>
    public long UsedBytes => ResidentBytes + DrainingBytes + ReservedBytes;

    /// <summary>Loads waiting for memory now.</summary>
    public int WaitingLoads { get; init; }

    /// <summary>Models evicted to keep this budget since the application started.</summary>
    public long Evictions { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Scope}: {UsedBytes:N0} of {LimitBytes:N0} bytes used (resident {ResidentBytes:N0}, draining {DrainingBytes:N0}, reserved {ReservedBytes:N0}), {WaitingLoads} loads waiting, {Evictions} evictions";
}
