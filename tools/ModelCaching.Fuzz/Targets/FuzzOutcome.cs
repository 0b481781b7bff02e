namespace ModelCaching.Fuzz.Targets;

/// <summary>What one input did to a cache.</summary>
public enum FuzzOutcome
{
    /// <summary>The input loaded and now serves.</summary>
    Loaded,

    /// <summary>The input was rejected with a <see cref="ModelLoadException"/> naming the model, a cause the loader wrote, and the last good model still serving.</summary>
    Rejected,

    /// <summary>Rejected, but the cause is a framework's raw exception that the loader did not explain.</summary>
    UnclearCause,

    /// <summary>Rejected only after running out of memory, or the process grew past the memory limit.</summary>
    OutOfMemory,

    /// <summary>Rejected only because the load timed out.</summary>
    Hang,

    /// <summary>A broken promise: another exception type, another model's name, or the last good model not serving.</summary>
    Bug,
}
