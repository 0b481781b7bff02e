namespace ModelCaching.Tests.Support;

/// <summary>
/// Tests that leave many load threads hung for seconds run alone: their abandoned threads count against the
/// process-wide cap (<c>AbandonedLoadThreads.Process</c>, 16), and at that cap every other test's loads in the same
/// process are refused ("the load was not started: 16 abandoned load attempts …").
/// </summary>
[CollectionDefinition(nameof(HungLoadTests), DisableParallelization = true)]
public sealed class HungLoadTests;
