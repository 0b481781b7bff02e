using ModelCaching.Redis.Instance;

namespace ModelCaching.Redis.Tests.Instance;

public sealed class ReconciliationTests
{
    private static readonly string Desired = new('d', 64);
    private static readonly string Other = new('o', 64);

    [Theory]
    [InlineData(ModelCacheState.NotLoaded)]
    [InlineData(ModelCacheState.Unloaded)]
    public void AModelThatNeverLoaded_IsNotLoadedByTheFleet(ModelCacheState state) =>
        Assert.False(Reconciliation.NeedsReload(Desired, state, served: null, lastAttempt: null));

    [Fact]
    public void AModelServingTheDesiredContent_DoesNothing() =>
        Assert.False(Reconciliation.NeedsReload(Desired, ModelCacheState.Ready, Version(Desired.ToUpperInvariant()), lastAttempt: null));

    [Fact]
    public void AModelServingOtherContent_Reloads() =>
        Assert.True(Reconciliation.NeedsReload(Desired, ModelCacheState.Ready, Version(Other), Record(ModelLoadOutcome.Success, Other)));

    [Theory]
    [InlineData(ModelLoadOutcome.Failure)]
    [InlineData(ModelLoadOutcome.Skipped)]
    public void AModelThatFailedOnTheDesiredContent_DoesNotTryItAgain(ModelLoadOutcome outcome) =>
        Assert.False(Reconciliation.NeedsReload(Desired, ModelCacheState.Degraded, Version(Other), Record(outcome, Desired)));

    [Fact]
    public void AFailureThatWasNotTheContents_IsRetried() =>
        Assert.True(Reconciliation.NeedsReload(Desired, ModelCacheState.Degraded, Version(Other), Record(ModelLoadOutcome.Failure, versionId: null)));

    [Fact]
    public void AFirstLoadThatFailed_LoadsTheDesiredVersion() =>
        Assert.True(Reconciliation.NeedsReload(Desired, ModelCacheState.Failed, served: null, Record(ModelLoadOutcome.Failure, Other)));

    private static ModelVersion Version(string id) => new(id, 1, "test", DateTimeOffset.UnixEpoch, 1);

    private static ModelLoadRecord Record(ModelLoadOutcome outcome, string? versionId) => new(DateTimeOffset.UnixEpoch, ModelLoadReason.SourceChanged, outcome, versionId, outcome is ModelLoadOutcome.Failure or ModelLoadOutcome.Skipped ? "error" : null);
}
