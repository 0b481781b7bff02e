namespace ModelCaching.Fuzz;

/// <summary>The command line, read once.</summary>
/// <param name="Targets">The loaders to fuzz, by <see cref="Targets.FuzzTargetCatalog"/> name.</param>
/// <param name="Seed">The random seed: the same seed and code replay the same inputs.</param>
/// <param name="Duration">The time budget per target.</param>
/// <param name="MaxInputs">Stop a target after this many inputs, whatever the time left.</param>
/// <param name="LoadTimeout">The cache's load timeout: a load past it is reported as a hang.</param>
/// <param name="BombBytes">How far each zip bomb inflates; 0 skips the bombs.</param>
/// <param name="DelegateMaxInflatedBytes">Where the delegate target's own loader stops reading.</param>
/// <param name="MemoryLimitBytes">A working set above this after an input is reported as out of memory.</param>
/// <param name="CorpusDirectory">Where interesting inputs are saved (and read back as more seeds), or null.</param>
/// <param name="MaxCorpusFiles">At most this many files are added to the corpus per run.</param>
/// <param name="MaxCorpusFileBytes">Inputs larger than this are not saved.</param>
/// <param name="ReplayDirectory">Replay every file of this folder instead of fuzzing, or null.</param>
/// <param name="FindingsDirectory">Where inputs that broke a promise, and slow ones, are saved.</param>
public sealed record FuzzSettings(
    IReadOnlyList<string> Targets,
    int Seed,
    TimeSpan Duration,
    long MaxInputs,
    TimeSpan LoadTimeout,
    long BombBytes,
    long DelegateMaxInflatedBytes,
    long MemoryLimitBytes,
    string? CorpusDirectory,
    int MaxCorpusFiles,
    int MaxCorpusFileBytes,
    string? ReplayDirectory,
    string FindingsDirectory);
