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
    string? Error);
