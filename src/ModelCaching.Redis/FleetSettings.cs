using System.Security.Cryptography;
using ModelCaching.Redis.Records;
using StackExchange.Redis;

namespace ModelCaching.Redis;

/// <summary>
/// The fleet's options, read once when the fleet is built (validated before): changing <see cref="RedisFleetOptions"/>
/// afterwards changes nothing.
/// </summary>
internal sealed class FleetSettings
{
    public FleetSettings(RedisFleetOptions options)
    {
        FleetName = options.FleetName;
        Keys = new FleetKeys(options.KeyPrefix, options.FleetName);
        Models = options.Models.Count == 0 ? null : new HashSet<string>(options.Models, StringComparer.Ordinal);
        InstanceId = options.InstanceId ?? $"{Environment.MachineName}-{Environment.ProcessId}-{RandomNumberGenerator.GetHexString(4, lowercase: true)}";
        Signer = new RecordSigner(options.SigningKey is null ? null : Convert.FromBase64String(options.SigningKey), options.FleetName);
        MaxContentBytesInRedis = options.MaxContentBytesInRedis;
        VersionsKept = options.VersionsKept;
        ReconcileInterval = options.ReconcileInterval;
        ReconcileJitter = options.ReconcileJitter;
        LoadJitter = options.LoadJitter;
        HeartbeatInterval = options.HeartbeatInterval;
        MemberTimeToLive = options.MemberTimeToLive;
        Address = options.Address;
        PlacedTemplates = options.Placement.Templates.Count == 0 ? null : new HashSet<string>(options.Placement.Templates, StringComparer.Ordinal);
        Replicas = PlacedTemplates is null ? 0 : options.Placement.Replicas;
        ConnectionFactory = options.ConnectionMultiplexerFactory;
        Configuration = options.ConfigurationOptions?.Clone() ?? (options.Configuration is { } text ? ConfigurationOptions.Parse(text) : null);
        if (Configuration is not null)
        {
            // An instance starts, and serves what it has, while Redis is down; the connection comes back by itself.
            Configuration.AbortOnConnectFail = false;
        }
    }

    public string FleetName { get; }

    public FleetKeys Keys { get; }

    /// <summary>The models the fleet manages, or <see langword="null"/> for all.</summary>
    public HashSet<string>? Models { get; }

    public string InstanceId { get; }

    public RecordSigner Signer { get; }

    public long MaxContentBytesInRedis { get; }

    public int VersionsKept { get; }

    public TimeSpan ReconcileInterval { get; }

    public double ReconcileJitter { get; }

    public TimeSpan LoadJitter { get; }

    public TimeSpan HeartbeatInterval { get; }

    public TimeSpan MemberTimeToLive { get; }

    /// <summary>The address routers reach this instance on, or <see langword="null"/>.</summary>
    public string? Address { get; }

    /// <summary>The templates whose models are placed, or <see langword="null"/> when nothing is.</summary>
    public HashSet<string>? PlacedTemplates { get; }

    /// <summary>How many instances own each placed model; 0 when nothing is placed.</summary>
    public int Replicas { get; }

    public Func<Task<IConnectionMultiplexer>>? ConnectionFactory { get; }

    public ConfigurationOptions? Configuration { get; }

    public bool Covers(string model) => Models is null || Models.Contains(model);

    /// <summary>Whether a model made at run time (from <paramref name="template"/>, or discovered by <c>AddModels</c> when <see langword="null"/>) follows the fleet: by its own name or its template's.</summary>
    public bool Covers(string model, string? template) => Covers(model) || (template is not null && Models!.Contains(template));
}
