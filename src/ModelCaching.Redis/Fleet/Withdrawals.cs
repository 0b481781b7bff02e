namespace ModelCaching.Redis;

/// <summary>
/// Which versions were taken back from the fleet (<see cref="FleetDesiredVersion.Withdrawn"/>), and the choices that skip
/// them: the version an unpin moves to and the one a rollback goes back to. A version only its canaries tried must not
/// reach the whole fleet without a canary stage because a later change (a pin, a rollback) wrote a record without the
/// rollout that said it was stopped. Pure functions, apart from Redis, like <see cref="Rollouts"/>.
/// </summary>
internal static class Withdrawals
{
    /// <summary>
    /// The versions withdrawn under <paramref name="desired"/>: its list, and its own version when its rollout was stopped
    /// or aborted (which also covers a record written before the list existed).
    /// </summary>
    public static IReadOnlyList<string> Of(FleetDesiredVersion? desired)
    {
        if (desired is null)
        {
            return [];
        }

        IReadOnlyList<string> listed = desired.Withdrawn;
        return IsTakenBack(desired.Rollout) && !listed.Contains(desired.Version.VersionId, StringComparer.Ordinal)
            ? [desired.Version.VersionId, .. listed]
            : listed;
    }

    /// <summary>
    /// The withdrawn versions of <paramref name="next"/>, which replaces <paramref name="current"/> (trusted, or
    /// <see langword="null"/>): those of <paramref name="current"/>, the version of <paramref name="next"/> when its rollout
    /// stopped or was aborted, and the version of a rollout of <paramref name="current"/> still at the canary stage that a
    /// pin or a rollback moved away from (the operator held the fleet back; an unpin must not promote it without its
    /// canaries). A publish of a newer version withdraws nothing. Only versions in <paramref name="keptIds"/> (newest first) stay,
    /// in its order, so the list never outgrows the versions kept.
    /// </summary>
    public static IReadOnlyList<string> Carry(FleetDesiredVersion? current, FleetDesiredVersion next, IEnumerable<string> keptIds)
    {
        var withdrawn = new List<string>(Of(current));
        if (current is { Rollout.Stage: FleetRolloutStage.Canary }
            && next.Action is FleetAction.Pin or FleetAction.Rollback
            && next.Version.VersionId != current.Version.VersionId)
        {
            withdrawn.Add(current.Version.VersionId);
        }

        if (IsTakenBack(next.Rollout))
        {
            withdrawn.Add(next.Version.VersionId);
        }

        return [.. keptIds.Where(id => withdrawn.Contains(id, StringComparer.Ordinal))];
    }

    /// <summary>The index in <paramref name="versions"/> (newest first) of the newest version not withdrawn, or -1 when every one was.</summary>
    public static int Newest(IReadOnlyList<FleetVersion> versions, IReadOnlyList<string> withdrawn) => FirstFrom(versions, 0, withdrawn);

    /// <summary>The index in <paramref name="versions"/> (newest first) of the first version older than <paramref name="index"/> not withdrawn, or -1.</summary>
    public static int OlderThan(IReadOnlyList<FleetVersion> versions, int index, IReadOnlyList<string> withdrawn) => FirstFrom(versions, index + 1, withdrawn);

    private static int FirstFrom(IReadOnlyList<FleetVersion> versions, int start, IReadOnlyList<string> withdrawn)
    {
        for (int i = start; i < versions.Count; i++)
        {
            if (!withdrawn.Contains(versions[i].VersionId, StringComparer.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsTakenBack(FleetRollout? rollout) => rollout is { Stage: FleetRolloutStage.Stopped or FleetRolloutStage.Aborted };
}
