using StackExchange.Redis;

namespace ModelCaching.Routing;

/// <summary>
/// The settings of model-cache routing in YARP (<c>AddModelCacheRouting</c>): where the fleet's Redis is, which fleet to
/// route to, which YARP cluster the routes point at, how a route's value names a model, and how the router fails over.
/// Every property but <see cref="ConfigurationOptions"/> and <see cref="ConnectionMultiplexerFactory"/> binds from
/// configuration (<c>ModelCacheRouting</c>, say); the options are validated when the host starts and read once.
/// </summary>
public sealed class ModelCacheRoutingOptions
{
    /// <summary>
    /// The StackExchange.Redis configuration string of the fleet's Redis (<c>localhost:6379</c>); the same as the
    /// instances' <c>RedisFleetOptions.Configuration</c>. Ignored when <see cref="ConfigurationOptions"/> or
    /// <see cref="ConnectionMultiplexerFactory"/> is set. The router connects with <c>abortConnect=false</c>: it starts while
    /// Redis is down and routes by the last membership it read.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// StackExchange.Redis configuration as an object. Takes precedence over <see cref="Configuration"/>.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public ConfigurationOptions? ConfigurationOptions { get; set; }

    /// <summary>
    /// Returns a connection the application already has; the router does not dispose it. Takes precedence over
    /// <see cref="ConfigurationOptions"/> and <see cref="Configuration"/>.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public Func<Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>
    /// The fleet whose instances the router sends requests to (the instances' <c>RedisFleetOptions.FleetName</c>).
    /// <value>The default is <c>default</c>.</value>
    /// </summary>
    public string FleetName { get; set; } = ModelCacheRoutingDefaults.FleetName;

    /// <summary>
    /// The prefix of the fleet's keys in Redis (the instances' <c>RedisFleetOptions.KeyPrefix</c>).
    /// <value>The default is <c>modelcaching:fleet</c>.</value>
    /// </summary>
    public string KeyPrefix { get; set; } = ModelCacheRoutingDefaults.KeyPrefix;

    /// <summary>
    /// The id of the YARP cluster the router provides: its destinations are the fleet's live instances that have an address
    /// (<c>RedisFleetOptions.Address</c>), one per instance id. Routes that send to this cluster are routed by model; do not
    /// declare a cluster of this id elsewhere.
    /// <value>The default is <c>modelcache</c>.</value>
    /// </summary>
    public string ClusterId { get; set; } = ModelCacheRoutingDefaults.ClusterId;

    /// <summary>
    /// The route value that names the model (<c>id</c> in a route's path <c>/tenants/{id}/{**rest}</c>).
    /// <value>The default is <c>id</c>.</value>
    /// </summary>
    public string RouteValueName { get; set; } = ModelCacheRoutingDefaults.RouteValueName;

    /// <summary>
    /// How the route value becomes the model's name: <c>{</c><see cref="RouteValueName"/><c>}</c> in it is replaced by the
    /// value (<c>tenant-{id}</c> routes <c>/tenants/acme/…</c> to the owners of the model <c>tenant-acme</c>). The result
    /// must be a valid model name (<see cref="ModelNames"/>), or the router answers 400.
    /// <value>The default is <c>{id}</c> (the value is the model's name).</value>
    /// </summary>
    public string ModelNameFormat { get; set; } = ModelCacheRoutingDefaults.ModelNameFormat;

    /// <summary>
    /// How often the router reads the fleet's membership from Redis. It also reads it at once when an instance announces
    /// that it joined or left (the fleet's members-changed channel), when an instance answers 421 Misdirected Request (it
    /// does not own the model: the membership has changed), and when the connection to Redis comes back; the interval is
    /// what drops a killed instance (once its entry expired) and what sees joins while the subscription is down.
    /// <value>The default is 2 seconds.</value>
    /// </summary>
    public TimeSpan RefreshInterval { get; set; } = ModelCacheRoutingDefaults.RefreshInterval;

    /// <summary>
    /// How long an instance that failed before answering (connection refused or reset) goes to the end of the owners it
    /// is among (YARP's passive health state, reset after this period).
    /// <value>The default is 10 seconds.</value>
    /// </summary>
    public TimeSpan ReactivationPeriod { get; set; } = ModelCacheRoutingDefaults.ReactivationPeriod;

    /// <summary>
    /// How many owners one request is sent to at most: the first, then another when one fails before answering or answers
    /// 421. A request is never sent again once its response has started.
    /// <value>The default is 3.</value>
    /// </summary>
    public int MaxAttempts { get; set; } = ModelCacheRoutingDefaults.MaxAttempts;

    /// <summary>
    /// The largest request body the router keeps so that it can send the request to another owner. A request with a
    /// larger body, or a body of unknown length (chunked), is sent once.
    /// <value>The default is 1 MiB.</value>
    /// </summary>
    public long MaxBufferedBodyBytes { get; set; } = ModelCacheRoutingDefaults.MaxBufferedBodyBytes;
}
