namespace ModelCaching.Redis;

/// <summary>Per model, from the members' entries: how many instances serve which version, and which failed with what.</summary>
internal static class FleetStatusAggregation
{
    public static FleetModelStatus Model(string name, FleetDesiredVersion? desired, IReadOnlyList<FleetMember> members)
    {
        var serving = new Dictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<FleetMemberFailure>();
        int instances = 0;
        foreach (FleetMember member in members)
        {
            foreach (FleetMemberModel model in member.Models)
            {
                if (model.Name != name)
                {
                    continue;
                }

                instances++;
                if (model.ServedVersionId is { } served)
                {
                    serving[served] = serving.GetValueOrDefault(served) + 1;
                }

                if (model.LastError is { } error)
                {
                    failures.Add(new FleetMemberFailure(member.InstanceId, model.DesiredVersionId, error));
                }
            }
        }

        return new FleetModelStatus
        {
            Name = name,
            Desired = desired,
            Serving = [.. serving.Select(s => new FleetVersionCount(s.Key, s.Value)).OrderByDescending(s => s.Instances).ThenBy(s => s.VersionId, StringComparer.Ordinal)],
            Failures = failures,
            Instances = instances,
        };
    }
}
