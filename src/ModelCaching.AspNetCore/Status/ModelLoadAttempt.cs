namespace ModelCaching.AspNetCore;

/// <summary>One load attempt in a model's status history.</summary>
/// <param name="At">When the attempt ended.</param>
/// <param name="Reason">Why it started (<see cref="ModelLoadReason"/>), as text.</param>
/// <param name="Outcome">How it ended (<see cref="ModelLoadOutcome"/>), as text.</param>
/// <param name="VersionId">The version the attempt saw, when known.</param>
/// <param name="Error">The failure message, when it failed or was skipped.</param>
internal sealed record ModelLoadAttempt(
    DateTimeOffset At,
    string Reason,
    string Outcome,
    string? VersionId,
    string? Error)
{
    /// <summary>Who asked for it, when known (<see cref="ModelLoadRecord.RequestedBy"/>: the admin endpoints record the user).</summary>
    public string? RequestedBy { get; init; }

    /// <summary>What it did beyond the outcome (<see cref="ModelLoadRecord.Detail"/>): the version a rollback went back from, a forced reload.</summary>
    public string? Detail { get; init; }

    /// <summary>Describes <paramref name="record"/>.</summary>
    public static ModelLoadAttempt From(ModelLoadRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new ModelLoadAttempt(record.At, record.Reason.ToString(), record.Outcome.ToString(), record.VersionId, record.Error)
        {
            RequestedBy = record.RequestedBy,
            Detail = record.Detail,
        };
    }
}
