namespace ModelCaching.Redis.Instance;

/// <summary>
/// One instance's view of the live membership, as it last read it from Redis (immutable; replaced whole on each read):
/// the placing instances (those whose entry reports replicas, and this instance always), their addresses, and which
/// placed models each reports loaded. Owners are computed from it with <see cref="FleetPlacement"/>, as a router does.
/// </summary>
internal sealed class PlacementView
{
    private readonly string[] _ids;
    private readonly Dictionary<string, string?> _addresses;
    private readonly Dictionary<string, HashSet<string>> _loadedBy;
    private readonly Dictionary<string, IReadOnlyList<string>> _placedOn;

    public PlacementView(IEnumerable<FleetMember> members, string self, string? selfAddress, int replicas)
    {
        Self = self;
        Replicas = replicas;
        _addresses = new Dictionary<string, string?>(StringComparer.Ordinal) { [self] = selfAddress };
        _loadedBy = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        _placedOn = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (FleetMember member in members)
        {
            // A member that places nothing (another application on the same fleet) owns nothing.
            if (member.Replicas <= 0 || member.InstanceId == self)
            {
                continue;
            }

            _addresses[member.InstanceId] = member.Address;
            if (member.PlacedModels is { Count: > 0 } placed)
            {
                _placedOn[member.InstanceId] = placed; // the entry's own list: kept for as long as this view, not copied
            }

            foreach (string name in member.PlacedModels ?? [])
            {
                if (!_loadedBy.TryGetValue(name, out HashSet<string>? holders))
                {
                    _loadedBy[name] = holders = new HashSet<string>(StringComparer.Ordinal);
                }

                holders.Add(member.InstanceId);
            }
        }

        _ids = [.. _addresses.Keys.Order(StringComparer.Ordinal)];
    }

    public string Self { get; }

    public int Replicas { get; }

    /// <summary>The placing instances' ids, in ordinal order (this instance among them).</summary>
    public IReadOnlyList<string> Members => _ids;

    /// <summary>The names other members report loaded, each with who holds it.</summary>
    public IReadOnlyDictionary<string, HashSet<string>> LoadedElsewhere => _loadedBy;

    /// <summary>Whether <paramref name="instanceId"/> is one of the placing members (this instance always is).</summary>
    public bool Contains(string instanceId) => _addresses.ContainsKey(instanceId);

    /// <summary>The placed models another member reported loaded in the entry this view was read from (empty for this instance).</summary>
    public IReadOnlyList<string> PlacedOn(string instanceId) => _placedOn.GetValueOrDefault(instanceId) ?? [];

    public IReadOnlyList<string> Owners(string modelName) => FleetPlacement.Owners(modelName, _ids, Replicas);

    /// <summary>Whether this instance owns <paramref name="modelName"/> (hashing only, no allocation: it is asked for every placed name on each read).</summary>
    public bool Owns(string modelName) => FleetPlacement.IsAmongOwners(modelName, Self, _ids, Replicas);

    public string? AddressOf(string instanceId) => _addresses.GetValueOrDefault(instanceId);

    /// <summary>Whether another member reports <paramref name="modelName"/> loaded.</summary>
    public bool IsLoadedOn(string instanceId, string modelName) => _loadedBy.TryGetValue(modelName, out HashSet<string>? holders) && holders.Contains(instanceId);

    /// <summary>Whether the view has the same members as <paramref name="other"/>.</summary>
    public bool SameMembers(PlacementView? other) => other is not null && _ids.AsSpan().SequenceEqual(other._ids);

    /// <summary>The exception for a name this instance does not own.</summary>
    public ModelNotOwnedException NotOwned(string modelName)
    {
        IReadOnlyList<string> owners = Owners(modelName);
        return new ModelNotOwnedException(modelName, Self, owners, [.. owners.Select(AddressOf)]);
    }
}
