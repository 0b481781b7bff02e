using StackExchange.Redis;

namespace ModelCaching.Redis;

/// <summary>
/// The settings of a Redis fleet (<c>AddRedisFleet</c>): where Redis is, which fleet this instance belongs to, how
/// records are signed, and how often the instance reconciles and reports. Every property but
/// <see cref="ConfigurationOptions"/> and <see cref="ConnectionMultiplexerFactory"/> binds from configuration
/// (<c>ModelCache:Fleet</c>, say); the options are validated when the host starts.
/// </summary>
public sealed class RedisFleetOptions
{
    /// <summary>
    /// The StackExchange.Redis configuration string (<c>localhost:6379</c>, <c>redis0:6380,password=…,ssl=true</c>):
    /// credentials and TLS are StackExchange.Redis's own settings. Ignored when <see cref="ConfigurationOptions"/> or
    /// <see cref="ConnectionMultiplexerFactory"/> is set. The fleet always connects with <c>abortConnect=false</c>, so an
    /// instance starts (and serves its local models) while Redis is down.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// StackExchange.Redis configuration as an object, for settings a string cannot carry (certificate callbacks, say).
    /// Takes precedence over <see cref="Configuration"/>.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public ConfigurationOptions? ConfigurationOptions { get; set; }

    /// <summary>
    /// Returns a connection the application already has, to share it with the fleet. The fleet does not dispose it.
    /// Takes precedence over <see cref="ConfigurationOptions"/> and <see cref="Configuration"/>.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public Func<Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>
    /// The fleet's name. Instances of one fleet share desired versions and membership; fleets under one Redis are apart.
    /// Letters, digits, <c>-</c>, <c>_</c> and <c>.</c>.
    /// <value>The default is <c>default</c>.</value>
    /// </summary>
    public string FleetName { get; set; } = RedisFleetDefaults.FleetName;

    /// <summary>
    /// The prefix of every key and channel the fleet uses in Redis; the fleet's keys are <c>{KeyPrefix}:{FleetName}:…</c>.
    /// <value>The default is <c>modelcaching:fleet</c>.</value>
    /// </summary>
    public string KeyPrefix { get; set; } = RedisFleetDefaults.KeyPrefix;

    /// <summary>
    /// The names of the models the fleet manages, or empty for every model registered before <c>AddRedisFleet</c>, every
    /// model <c>AddModels</c> discovers and every model made from a template. A template's name here stands for every model
    /// made from it (<c>tenant-a</c>, <c>tenant-b</c>, … from the template <c>tenants</c>).
    /// <value>The default is empty (every model).</value>
    /// </summary>
    public IList<string> Models { get; } = [];

    /// <summary>
    /// This instance's id in the fleet's membership. Unique per running instance.
    /// <value>The default is <c>{machine name}-{process id}-{4 random hex digits}</c>.</value>
    /// </summary>
    public string? InstanceId { get; set; }

    /// <summary>
    /// An HMAC-SHA256 key (base64, at least 16 bytes) that signs every published record and that instances check: with a
    /// key set, an instance refuses a record that is unsigned or signed with another key, logs why, keeps what it serves
    /// and reports the refusal. A client that can write to Redis but lacks the key cannot make the fleet load anything.
    /// <value>The default is <see langword="null"/> (records are not signed and not checked).</value>
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>
    /// The largest model a publish stores in Redis itself; larger ones must be published by location (a file path or an
    /// address the instances can read). Redis keeps values in memory: keep this small.
    /// <value>The default is 16 MiB.</value>
    /// </summary>
    public long MaxContentBytesInRedis { get; set; } = RedisFleetDefaults.MaxContentBytesInRedis;

    /// <summary>
    /// How many published versions the fleet keeps per model for rollback and pinning; older ones (and their bytes in
    /// Redis) are deleted by the publish that pushes them out.
    /// <value>The default is 10.</value>
    /// </summary>
    public int VersionsKept { get; set; } = RedisFleetDefaults.VersionsKept;

    /// <summary>
    /// How often an instance reads every desired version and catches up, whatever messages it got (a missed message
    /// never leaves it behind for good). Each wait is jittered by ±<see cref="ReconcileJitter"/>.
    /// <value>The default is 30 seconds.</value>
    /// </summary>
    public TimeSpan ReconcileInterval { get; set; } = RedisFleetDefaults.ReconcileInterval;

    /// <summary>
    /// The fraction of <see cref="ReconcileInterval"/> by which each wait varies (0–0.5), so a fleet does not read
    /// Redis, or load from the same source, all at once.
    /// <value>The default is 0.2.</value>
    /// </summary>
    public double ReconcileJitter { get; set; } = RedisFleetDefaults.ReconcileJitter;

    /// <summary>
    /// The window over which the instances spread a load the whole fleet makes (a publish without a canary share, a
    /// promotion, a rollback): each instance waits its own share of it, fixed by its id and the version, so the version's
    /// source (a share, a web server, Redis) is not read by every instance at once. Canaries load at once.
    /// <value>The default is 2 seconds; <see cref="TimeSpan.Zero"/> loads at once.</value>
    /// </summary>
    public TimeSpan LoadJitter { get; set; } = RedisFleetDefaults.LoadJitter;

    /// <summary>
    /// How often an instance rewrites its membership entry (it also does so after each load of a fleet model).
    /// <value>The default is 10 seconds.</value>
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = RedisFleetDefaults.HeartbeatInterval;

    /// <summary>
    /// How long a membership entry lives without a heartbeat; an instance that stops is gone from the status after it.
    /// Must be longer than <see cref="HeartbeatInterval"/>.
    /// <value>The default is 30 seconds.</value>
    /// </summary>
    public TimeSpan MemberTimeToLive { get; set; } = RedisFleetDefaults.MemberTimeToLive;

    /// <summary>
    /// The address routers reach this instance on (<c>http://10.0.0.5:5080</c>), written in its membership entry. Needed
    /// by a router (ModelCaching.Routing) that sends each request to an instance that owns the model.
    /// <value>The default is <see langword="null"/> (no router sends requests here).</value>
    /// </summary>
    public string? Address { get; set; }

    /// <summary>
    /// Placement: which models are spread over the fleet instead of loaded on every instance, and on how many instances
    /// each one is (<see cref="RedisFleetPlacementOptions"/>).
    /// </summary>
    public RedisFleetPlacementOptions Placement { get; } = new();
}
