namespace ModelCaching.Tests.Support;

/// <summary>
/// Tests whose hung steps run past their load timeout count in the process-wide cap of abandoned load threads
/// (AbandonedLoadThreads.Process, 16): enough of them at once refuse every other load of the process, so tests run in
/// parallel with them failed at random ("the load was not started: 16 abandoned load attempts …"). They run alone.
/// </summary>
[CollectionDefinition(nameof(AbandonedThreadTests), DisableParallelization = true)]
public sealed class AbandonedThreadTests;
