namespace ModelCaching.Fleet;

/// <summary>
/// The model is placed on other instances of the fleet (ModelCaching.Redis's <c>RedisFleetOptions.Placement</c>): its name
/// is owned by <see cref="Owners"/>, and this instance loads only the names it owns. Thrown before anything is loaded,
/// never after a silent cold load of another instance's model. A router (ModelCaching.Routing) sends the request to an
/// owner; ModelCaching.AspNetCore answers it with a 421 Misdirected Request problem naming the owners
/// (<c>AddModelCacheProblemDetails</c>). A <see cref="ModelLoadException"/>, so code that catches that keeps working.
/// </summary>
public sealed class ModelNotOwnedException : ModelLoadException
{
    /// <summary>Creates the exception for the model <paramref name="modelName"/>, asked of the instance <paramref name="instanceId"/>.</summary>
    /// <param name="modelName">The model's name.</param>
    /// <param name="instanceId">The instance that was asked and does not own it.</param>
    /// <param name="owners">The owners' instance ids, the preferred first.</param>
    /// <param name="ownerAddresses">The owners' addresses, in the order of <paramref name="owners"/> (<see langword="null"/> where unknown), or <see langword="null"/>.</param>
    public ModelNotOwnedException(string modelName, string instanceId, IReadOnlyList<string> owners, IReadOnlyList<string?>? ownerAddresses = null)
        : base(modelName, $"instance '{instanceId}'", Describe(owners, ownerAddresses))
    {
        ArgumentNullException.ThrowIfNull(owners);
        if (ownerAddresses is not null && ownerAddresses.Count != owners.Count)
        {
            throw new ArgumentException($"{nameof(ownerAddresses)} has {ownerAddresses.Count} entries for {owners.Count} owners.", nameof(ownerAddresses));
        }

        InstanceId = instanceId;
        Owners = owners;
        OwnerAddresses = ownerAddresses ?? new string?[owners.Count];
    }

    /// <summary>The instance that was asked and does not own the model.</summary>
    public string InstanceId { get; }

    /// <summary>The instance ids of the model's owners, the preferred first.</summary>
    public IReadOnlyList<string> Owners { get; }

    /// <summary>The owners' addresses, in the order of <see cref="Owners"/>; <see langword="null"/> where an owner reported none.</summary>
    public IReadOnlyList<string?> OwnerAddresses { get; }

    private static string Describe(IReadOnlyList<string> owners, IReadOnlyList<string?>? addresses)
    {
        ArgumentNullException.ThrowIfNull(owners);
        var named = new string[owners.Count];
        for (int i = 0; i < owners.Count; i++)
        {
            named[i] = addresses is not null && i < addresses.Count && addresses[i] is { } address ? $"'{owners[i]}' ({address})" : $"'{owners[i]}'";
        }

        return owners.Count == 0
            ? "the model is placed on other instances of the fleet, and none is known now"
            : $"the model is placed on other instances of the fleet; its owners are {string.Join(", ", named)}";
    }
}
