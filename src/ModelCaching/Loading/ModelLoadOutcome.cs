namespace ModelCaching;

/// <summary>
/// The result of one load attempt. Used as the <c>outcome</c> tag of the <c>modelcache.loads</c> metric.
/// </summary>
public enum ModelLoadOutcome
{
    /// <summary>A new generation was loaded and is now serving.</summary>
    Success,

    /// <summary>The source content was unchanged (same SHA-256 or ETag); nothing was loaded.</summary>
    Unchanged,

    /// <summary>The content was already known to be bad (its hash failed before); it was not loaded again.</summary>
    Skipped,

    /// <summary>The load failed; the serving generation (if any) was kept.</summary>
    Failure,

    /// <summary>
    /// An explicit reload found the version a rollback went back from and did not load it (<see cref="ModelReloadRefusedException"/>);
    /// the serving generation was kept. Not a failure: it counts in neither loads nor failures.
    /// </summary>
    Refused,
}
