using StackExchange.Redis;

namespace ModelCaching.Redis.Records;

/// <summary>
/// The keys and the channel of one fleet: <c>{prefix}:{fleet}:desired:{model}</c> and so on. A version id has no
/// <c>:</c> (<see cref="FleetNames"/>), so <c>version:{model}:{id}</c> is unambiguous whatever the model's name.
/// </summary>
internal sealed class FleetKeys(string keyPrefix, string fleetName)
{
    private readonly string _root = $"{keyPrefix}:{fleetName}:";

    /// <summary>The desired version of a model (JSON <see cref="FleetDesiredVersion"/>).</summary>
    public RedisKey Desired(string model) => _root + "desired:" + model;

    /// <summary>One published version (JSON <see cref="FleetVersion"/>).</summary>
    public RedisKey Version(string model, string versionId) => _root + "version:" + model + ":" + versionId;

    /// <summary>The ids of a model's kept versions, newest first (a list).</summary>
    public RedisKey Versions(string model) => _root + "versions:" + model;

    /// <summary>The bytes of a version stored in Redis.</summary>
    public RedisKey Content(string model, string versionId) => _root + "content:" + model + ":" + versionId;

    /// <summary>The names of the models anything was published for (a set).</summary>
    public RedisKey Models => _root + "models";

    /// <summary>The ids of the instances that reported (a set; an id whose entry expired is dropped when read).</summary>
    public RedisKey Members => _root + "members";

    /// <summary>One instance's membership entry (JSON <see cref="FleetMember"/>, with a time-to-live).</summary>
    public RedisKey Member(string instanceId) => _root + "member:" + instanceId;

    /// <summary>The channel a change of a desired version is announced on (the message is the model's name).</summary>
    public RedisChannel Changes => RedisChannel.Literal(_root + "changes");

    /// <summary>
    /// The channel an instance announces its joining and its graceful leaving on (the message is its id): a hint to
    /// routers and placing instances to read the membership now.
    /// </summary>
    public RedisChannel MembersChanged => RedisChannel.Literal(_root + "members-changed");
}
