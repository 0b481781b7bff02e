namespace ModelCaching.Redis.Tests.Fleet;

/// <summary>
/// The withdrawn versions apart from Redis: which changes withdraw a version, how the list is carried and kept small, and
/// the choices of unpin (the newest not withdrawn) and rollback (the next older not withdrawn).
/// </summary>
public sealed class WithdrawalsTests
{
    private static readonly string[] Kept = ["v4", "v3", "v2", "v1"];

    [Fact]
    public void Of_ARecordWhoseRolloutStoppedOrWasAborted_WithdrawsItsVersion_AlsoWithoutAList()
    {
        // As a record written before the list existed reads: a stopped rollout and nothing listed.
        Assert.Equal(["v3"], Withdrawals.Of(Record("v3", FleetRolloutStage.Stopped)));
        Assert.Equal(["v3", "v1"], Withdrawals.Of(Record("v3", FleetRolloutStage.Aborted) with { Withdrawn = ["v1"] }));
        Assert.Equal(["v1"], Withdrawals.Of(Record("v3", FleetRolloutStage.Canary) with { Withdrawn = ["v1"] }));
        Assert.Equal(["v1"], Withdrawals.Of(Record("v3", FleetRolloutStage.Promoted) with { Withdrawn = ["v1"] }));
        Assert.Empty(Withdrawals.Of(Record("v3")));
        Assert.Empty(Withdrawals.Of(null));
    }

    [Fact]
    public void Carry_AddsTheVersionOfAStopOrAnAbort_AndKeepsItThroughEveryLaterChange()
    {
        FleetDesiredVersion canary = Record("v4", FleetRolloutStage.Canary, previous: "v3");
        FleetDesiredVersion stopped = Record("v4", FleetRolloutStage.Stopped, previous: "v3", FleetAction.Stop);
        Assert.Equal(["v4"], Withdrawals.Carry(canary, stopped, Kept));
        Assert.Equal(["v4"], Withdrawals.Carry(canary, Record("v4", FleetRolloutStage.Aborted, previous: "v3", FleetAction.Abort), Kept));

        // A pin then an unpin: the records they write have no rollout, the list keeps what the stop said.
        FleetDesiredVersion pinned = Record("v3", action: FleetAction.Pin) with { Withdrawn = Withdrawals.Carry(stopped, Record("v3", action: FleetAction.Pin), Kept) };
        Assert.Equal(["v4"], pinned.Withdrawn);
        Assert.Equal(["v4"], Withdrawals.Carry(pinned, Record("v3", action: FleetAction.Unpin), Kept));
        Assert.Equal(["v4"], Withdrawals.Carry(pinned, Record("v2", action: FleetAction.Rollback), Kept));
        Assert.Equal(["v4"], Withdrawals.Carry(pinned, Record("v5", action: FleetAction.Publish), ["v5", .. Kept]));

        // An explicit pin of the withdrawn version is allowed, and leaves it withdrawn for a later unpin.
        Assert.Equal(["v4"], Withdrawals.Carry(pinned, Record("v4", action: FleetAction.Pin), Kept));
    }

    [Fact]
    public void Carry_APinOrARollbackAwayFromARolloutAtTheCanaryStage_WithdrawsItsVersion_APromoteOrANewerPublishDoesNot()
    {
        FleetDesiredVersion canary = Record("v4", FleetRolloutStage.Canary, previous: "v3");

        Assert.Equal(["v4"], Withdrawals.Carry(canary, Record("v3", action: FleetAction.Pin), Kept));
        Assert.Equal(["v4"], Withdrawals.Carry(canary, Record("v2", action: FleetAction.Rollback), Kept));
        Assert.Empty(Withdrawals.Carry(canary, Record("v4", action: FleetAction.Pin), Kept)); // the operator pins the new version itself
        Assert.Empty(Withdrawals.Carry(canary, Record("v4", FleetRolloutStage.Promoted, previous: "v3", FleetAction.Promote), Kept));
        Assert.Empty(Withdrawals.Carry(canary, Record("v5", FleetRolloutStage.Canary, previous: "v3"), ["v5", .. Kept]));
    }

    [Fact]
    public void Carry_KeepsOnlyTheVersionsTheFleetStillKeeps_EachOnce_NewestFirst()
    {
        FleetDesiredVersion current = Record("v4", FleetRolloutStage.Stopped, previous: "v3") with { Withdrawn = ["v4", "v2", "v0"] };

        Assert.Equal(["v4", "v2"], Withdrawals.Carry(current, Record("v3", action: FleetAction.Pin), Kept));
        Assert.Equal(["v4"], Withdrawals.Carry(current, Record("v6", action: FleetAction.Publish), ["v6", "v5", "v4"]));
        Assert.Empty(Withdrawals.Carry(current, Record("v8", action: FleetAction.Publish), ["v8", "v7"]));

        // Newest first, in the order of the versions kept, whatever order they were withdrawn in.
        Assert.Equal(["v4", "v2"], Withdrawals.Carry(Record("v2", FleetRolloutStage.Aborted, previous: "v1") with { Withdrawn = ["v4"] }, Record("v1", action: FleetAction.Pin), Kept));
    }

    [Fact]
    public void Newest_SkipsWithdrawnVersions_AndIsMinusOneWhenEveryOneWas()
    {
        FleetVersion[] versions = [.. Kept.Select(Version)];

        Assert.Equal(0, Withdrawals.Newest(versions, []));
        Assert.Equal(2, Withdrawals.Newest(versions, ["v4", "v3"]));
        Assert.Equal(-1, Withdrawals.Newest(versions, Kept));
        Assert.Equal(-1, Withdrawals.Newest([], []));
    }

    [Fact]
    public void OlderThan_GoesBackPastWithdrawnVersions_AndIsMinusOneWhenNoneIsLeft()
    {
        FleetVersion[] versions = [.. Kept.Select(Version)];

        Assert.Equal(1, Withdrawals.OlderThan(versions, 0, []));
        Assert.Equal(3, Withdrawals.OlderThan(versions, 0, ["v3", "v2"]));
        Assert.Equal(-1, Withdrawals.OlderThan(versions, 1, ["v2", "v1"]));
        Assert.Equal(-1, Withdrawals.OlderThan(versions, 3, []));
    }

    private static FleetVersion Version(string id) =>
        new() { Model = "m", VersionId = id, Sha256 = new string('a', 64), SizeBytes = 1, Storage = FleetContentStorage.Store, PublishedBy = "me", PublishedAt = DateTimeOffset.UnixEpoch };

    private static FleetDesiredVersion Record(string versionId, FleetRolloutStage? stage = null, string? previous = null, FleetAction action = FleetAction.Publish) => new()
    {
        Version = Version(versionId),
        Action = action,
        ChangedBy = "me",
        Rollout = stage is { } s ? new FleetRollout { Stage = s, CanaryShare = 0.3, Canaries = ["a"], Previous = previous is null ? null : Version(previous) } : null,
    };
}
