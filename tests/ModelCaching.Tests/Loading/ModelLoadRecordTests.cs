namespace ModelCaching.Tests.Loading;

/// <summary>
/// A <see cref="ModelLoadRecord"/> keeps its time, reason and outcome compactly and what only some records say (an
/// error, a caller, a detail) apart (issue 18): each reads back as it was given.
/// </summary>
public sealed class ModelLoadRecordTests
{
    [Fact]
    public void Every_reason_outcome_and_time_reads_back_as_given()
    {
        DateTimeOffset[] times = [DateTimeOffset.MinValue, DateTimeOffset.MaxValue, new(2026, 12, 7, 1, 50, 0, 123, TimeSpan.FromHours(5.75)), new(2026, 12, 7, 1, 50, 0, TimeSpan.FromHours(-14))];
        foreach (ModelLoadReason reason in Enum.GetValues<ModelLoadReason>())
        {
            foreach (ModelLoadOutcome outcome in Enum.GetValues<ModelLoadOutcome>())
            {
                foreach (DateTimeOffset at in times)
                {
                    var record = new ModelLoadRecord(at, reason, outcome, "v1", error: null);

                    Assert.Equal((at, at.Offset, reason, outcome, "v1"), (record.At, record.At.Offset, record.Reason, record.Outcome, record.VersionId));
                    Assert.Equal(((string?)null, (string?)null, (string?)null), (record.Error, record.RequestedBy, record.Detail));
                }
            }
        }
    }

    [Fact]
    public void An_error_a_caller_and_a_detail_read_back_in_any_combination()
    {
        DateTimeOffset at = new(2026, 12, 7, 1, 50, 0, TimeSpan.Zero);

        var failed = new ModelLoadRecord(at, ModelLoadReason.Explicit, ModelLoadOutcome.Failure, null, "boom") { RequestedBy = "ops", Detail = "forced" };
        var refused = new ModelLoadRecord(at, ModelLoadReason.Explicit, ModelLoadOutcome.Refused, "v2", "refused") { RequestedBy = "ops" };
        var rolledBack = new ModelLoadRecord(at, ModelLoadReason.Rollback, ModelLoadOutcome.Success, "v1", null) { Detail = "rolled back from version v2" };
        var none = new ModelLoadRecord(at, ModelLoadReason.FirstUse, ModelLoadOutcome.Success, "g1", null) { RequestedBy = null, Detail = null };

        Assert.Equal(("boom", "ops", "forced"), (failed.Error, failed.RequestedBy, failed.Detail));
        Assert.Equal(("refused", "ops", (string?)null), (refused.Error, refused.RequestedBy, refused.Detail));
        Assert.Equal(((string?)null, (string?)null, "rolled back from version v2"), (rolledBack.Error, rolledBack.RequestedBy, rolledBack.Detail));
        Assert.Equal(((string?)null, (string?)null, (string?)null), (none.Error, none.RequestedBy, none.Detail));
    }
}
