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
        _atTicks = at.Ticks;
        _atOffsetMinutes = (short)at.Offset.TotalMinutes;
        _reason = (byte)reason;
        _outcome = (byte)outcome;
        VersionId = versionId;
        _notes = error is null ? null : new Notes(error, null, null);
    }

    // The record of a successful load (most models' only one) is 48 bytes: the time as its clock ticks and offset (a
    // DateTimeOffset field is 16 bytes), the reason and outcome as bytes, and what only some records say (an error, a
    // caller, a detail) in one object made for those (issue 18: what a known name costs).
    private readonly long _atTicks;
    private readonly short _atOffsetMinutes;
    private readonly byte _reason;
    private readonly byte _outcome;
    private readonly Notes? _notes;

    /// <summary>When the attempt ended.</summary>
    public DateTimeOffset At => new(_atTicks, TimeSpan.FromMinutes(_atOffsetMinutes));

    /// <summary>Why it was started.</summary>
    public ModelLoadReason Reason => (ModelLoadReason)_reason;

    /// <summary>How it ended.</summary>
    public ModelLoadOutcome Outcome => (ModelLoadOutcome)_outcome;

    /// <summary>The version the attempt saw (content hash or ETag), when known.</summary>
    public string? VersionId { get; }

    /// <summary>The failure message, for <see cref="ModelLoadOutcome.Failure"/> and <see cref="ModelLoadOutcome.Skipped"/>.</summary>
    public string? Error => _notes?.Error;

    /// <summary>Who asked for it, when the caller said (<see cref="IModelCache.ReloadAsync(bool, string?, CancellationToken)"/>, <see cref="IModelCache.RollbackAsync(string?, CancellationToken)"/>; the admin endpoints pass the user's name).</summary>
    public string? RequestedBy
    {
        get => _notes?.RequestedBy;
        internal init => _notes = value is null && _notes is null ? null : new Notes(_notes?.Error, value, _notes?.Detail);
    }

    /// <summary>What it did beyond the outcome: the version a rollback went back from, a reload forced past a rollback.</summary>
    public string? Detail
    {
        get => _notes?.Detail;
        internal init => _notes = value is null && _notes is null ? null : new Notes(_notes?.Error, _notes?.RequestedBy, value);
    }

    /// <summary>What only some records say.</summary>
    private sealed record Notes(string? Error, string? RequestedBy, string? Detail);
}
