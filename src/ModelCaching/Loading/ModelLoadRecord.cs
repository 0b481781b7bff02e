namespace ModelCaching;

/// <summary>
/// One entry of a cache's load history: what was tried, when, and how it ended.
/// </summary>
public sealed class ModelLoadRecord
{
    /// <summary>Initializes a new instance of the <see cref="ModelLoadRecord"/> class.</summary>
    /// <param name="at">When the attempt ended.</param>
    /// <param name="reason">Why it was started.</param>
    /// <param name="outcome">How it ended.</param>
    /// <param name="versionId">The version the attempt saw (content hash or ETag), when known.</param>
    /// <param name="error">The failure message, for <see cref="ModelLoadOutcome.Failure"/> and <see cref="ModelLoadOutcome.Skipped"/>.</param>
    internal ModelLoadRecord(DateTimeOffset at, ModelLoadReason reason, ModelLoadOutcome outcome, string? versionId, string? error)
    {
        At = at;
        Reason = reason;
        Outcome = outcome;
        VersionId = versionId;
        Error = error;
    }

    /// <summary>When the attempt ended.</summary>
    public DateTimeOffset At { get; }

    /// <summary>Why it was started.</summary>
    public ModelLoadReason Reason { get; }

    /// <summary>How it ended.</summary>
    public ModelLoadOutcome Outcome { get; }

    /// <summary>The version the attempt saw (content hash or ETag), when known.</summary>
    public string? VersionId { get; }

    /// <summary>The failure message, for <see cref="ModelLoadOutcome.Failure"/> and <see cref="ModelLoadOutcome.Skipped"/>.</summary>
    public string? Error { get; }

    /// <summary>Who asked for it, when the caller said (<see cref="IModelCache.ReloadAsync(bool, string?, CancellationToken)"/>, <see cref="IModelCache.RollbackAsync(string?, CancellationToken)"/>; the admin endpoints pass the user's name).</summary>
    public string? RequestedBy { get; internal init; }

    /// <summary>What it did beyond the outcome: the version a rollback went back from, a reload forced past a rollback.</summary>
    public string? Detail { get; internal init; }
}
