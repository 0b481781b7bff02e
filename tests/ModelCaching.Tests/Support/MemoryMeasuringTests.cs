namespace ModelCaching.Tests.Support;

/// <summary>
/// Tests that measure the process's retained memory (GC.GetTotalMemory) run alone: other tests running in parallel in the
/// same process would add their own allocations to the figure.
/// </summary>
[CollectionDefinition(nameof(MemoryMeasuringTests), DisableParallelization = true)]
public sealed class MemoryMeasuringTests;
