namespace ModelCaching.Budget;

/// <summary>
/// The bytes one generation was charged against a <see cref="MemoryBudget"/> (<see cref="MemoryBudget.Charge"/>): resident
/// while it serves, draining once it was swapped out or unloaded (leases and the drain delay may still keep it), released
/// when it is disposed. A value, not an object: the generation keeps the bytes and where they stand in fields of its own
/// (<see cref="Generations.ModelGeneration{TModel}"/>) and tells its budget through its slot (issue 18: what a known name
/// costs; an object of its own was 48 bytes a name).
/// </summary>
/// <param name="Bytes">The bytes charged.</param>
internal readonly record struct GenerationCharge(long Bytes)
{
    /// <summary>Where the bytes of a charge stand (<see cref="Generations.ModelGeneration{TModel}"/> keeps one as an <see langword="int"/>).</summary>
    public const int Resident = 0;

    /// <inheritdoc cref="Resident"/>
    public const int Draining = 1;

    /// <inheritdoc cref="Resident"/>
    public const int Released = 2;
}
