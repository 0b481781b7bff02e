namespace ModelCaching.Redis;

/// <summary>
/// Placement of a fleet's template models (<c>ModelCache:Fleet:Placement</c>): each model made from one of
/// <see cref="Templates"/> is owned by <see cref="Replicas"/> of the live instances (<see cref="FleetPlacement"/>), and
/// only its owners load it.
/// </summary>
public sealed class RedisFleetPlacementOptions
{
    /// <summary>
    /// The templates whose models are placed (<c>tenants</c>). A model of another template, or a model registered by
    /// name, loads on every instance as before.
    /// <value>The default is empty (nothing is placed).</value>
    /// </summary>
    public IList<string> Templates { get; } = [];

    /// <summary>
    /// How many live instances own each placed model (at least 1).
    /// <value>The default is 2.</value>
    /// </summary>
    public int Replicas { get; set; } = RedisFleetDefaults.PlacementReplicas;
}
