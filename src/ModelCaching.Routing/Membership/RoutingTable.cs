namespace ModelCaching.Routing.Membership;

/// <summary>
/// One membership of the fleet, immutable (kept over reads that find it unchanged): the live instances, how many own each placed model, and which models
/// each has loaded. Answers "who owns this model, best first" for each request.
/// </summary>
/// <remarks>
/// The owners are <see cref="Redis.FleetPlacement.Owners"/> over the instances that place models (their entry's
/// <see cref="FleetMember.Replicas"/> is above 0), as the instances compute it themselves. When the instances disagree on
/// the replicas (a rolling change of <c>Placement.Replicas</c>), the router takes the largest: the owners under fewer
/// replicas are the first of those (rendezvous order does not depend on the count), so an instance that counts itself an
/// owner is never left out, and one that does not answers 421 and the next is tried. When no instance places anything,
/// every instance serves every model, and each model goes to the instances in rendezvous order (one tenant keeps to one
/// instance while it lives).
/// </remarks>
internal sealed class RoutingTable
{
    public static readonly RoutingTable Empty = new([]);

    private readonly Dictionary<string, HashSet<string>> _loaded;
    private readonly string[] _placing;

    public RoutingTable(IReadOnlyList<FleetMember> members)
    {
        Members = members;
        _loaded = new Dictionary<string, HashSet<string>>(members.Count, StringComparer.Ordinal);
        var placing = new List<string>(members.Count);
        var replicas = new SortedSet<int>();
        foreach (FleetMember member in members)
        {
            var loaded = new HashSet<string>(StringComparer.Ordinal);
            foreach (FleetMemberModel model in member.Models)
            {
                if (model.State is ModelCacheState.Ready or ModelCacheState.Degraded)
                {
                    loaded.Add(model.Name);
                }
            }

            // Placed models the fleet does not version (their template is not among RedisFleetOptions.Models) are only here.
            // An old owner still holding a name in a handoff lists it too: the owners are computed first, so it is never chosen.
            foreach (string name in member.PlacedModels ?? [])
            {
                loaded.Add(name);
            }

            _loaded[member.InstanceId] = loaded;
            if (member.Replicas > 0)
            {
                placing.Add(member.InstanceId);
                replicas.Add(member.Replicas);
            }
        }

        _placing = [.. placing];
        ReplicaCounts = [.. replicas];
        Replicas = replicas.Count == 0 ? 0 : replicas.Max;
    }

    /// <summary>The live instances, by id.</summary>
    public IReadOnlyList<FleetMember> Members { get; }

    /// <summary>How many instances own each placed model (the largest the placing instances report), or 0 when none places.</summary>
    public int Replicas { get; }

    /// <summary>The distinct replica counts the placing instances report (more than one: they disagree).</summary>
    public IReadOnlyList<int> ReplicaCounts { get; }

    /// <summary>The instances that own <paramref name="modelName"/>: those that have it loaded first, then in placement order.</summary>
    public IReadOnlyList<string> Owners(string modelName)
    {
        IReadOnlyList<string> owners = _placing.Length > 0
            ? Redis.FleetPlacement.Owners(modelName, _placing, Replicas)
            : Redis.FleetPlacement.Owners(modelName, Members.Select(static m => m.InstanceId), Math.Max(1, Members.Count));
        if (owners.Count < 2)
        {
            return owners;
        }

        var ordered = new List<string>(owners.Count);
        foreach (string owner in owners)
        {
            if (IsLoaded(owner, modelName))
            {
                ordered.Add(owner);
            }
        }

        foreach (string owner in owners)
        {
            if (!IsLoaded(owner, modelName))
            {
                ordered.Add(owner);
            }
        }

        return ordered;
    }

    /// <summary>Whether <paramref name="instanceId"/> reported <paramref name="modelName"/> loaded (Ready or Degraded).</summary>
    public bool IsLoaded(string instanceId, string modelName) =>
        _loaded.TryGetValue(instanceId, out HashSet<string>? loaded) && loaded.Contains(modelName);
}
