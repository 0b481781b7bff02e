namespace ModelCaching;

/// <summary>
/// One entry of a cache's load history: what was tried, when, and how it ended.
/// </summary>
/// <param name="At">When the attempt ended.</param>
/// <param name="Reason">Why it was started.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="VersionId">The version the attempt saw (content hash or ETag), when known.</param>
/// <param name="Error">The failure message, for <see cref="ModelLoadOutcome.Failure"/> and <see cref="ModelLoadOutcome.Skipped"/>.</param>
public sealed record ModelLoadRecord(
    DateTimeOffset At,
    ModelLoadReason Reason,
    ModelLoadOutcome Outcome,
    string? VersionId,
    string? Error)
{
    /// <summary>Who asked for it, when the caller said (<see cref="IModelCache.ReloadAsync(bool, string?, CancellationToken)"/>, <see cref="IModelCache.RollbackAsync(string?, CancellationToken)"/>; the admin endpoints pass the user's name).</summary>
    public string? RequestedBy { get; init; }

    /// <summary>What it did beyond the outcome: the version a rollback went back from, a reload forced past a rollback.</summary>
    public string? Detail { get; init; }
}
