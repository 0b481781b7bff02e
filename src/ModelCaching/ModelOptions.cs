using System.Diagnostics.CodeAnalysis;

namespace ModelCaching;

/// <summary>
/// The settings of one cached model that do not depend on its type. Every property binds from
/// configuration (<c>ModelCache:Models:{name}</c>); the options are validated when the host starts.
/// </summary>
public class ModelOptions
{
    internal const long DefaultMaxArtifactBytes = 1L * 1024 * 1024 * 1024;

    /// <summary>
    /// The source the configuration names (<c>FilePath</c>, <c>Uri</c>, <c>AllowHttp</c>, <c>WatchForChanges</c>,
    /// <c>UsePolling</c>, <c>PollingInterval</c> under the model's section), used when the code sets no
    /// <see cref="ModelOptions{TModel}.Source"/>; <see langword="null"/> when the configuration names none.
    /// </summary>
    internal ConfiguredModelSource? ConfiguredSource { get; set; }

    /// <summary>
    /// When the model is loaded and whether it expires: <see cref="ModelLoadPolicy.Lazy"/>,
    /// <see cref="ModelLoadPolicy.Eager"/> or <see cref="ModelLoadPolicy.Expiring"/> (which needs
    /// <see cref="TimeToLive"/> or <see cref="IdleTimeout"/>).
    /// <value>The default is <see cref="ModelLoadPolicy.Lazy"/>.</value>
    /// </summary>
    public ModelLoadPolicy Policy { get; set; } = ModelLoadPolicy.Lazy;

    /// <summary>
    /// For <see cref="ModelLoadPolicy.Eager"/> models: whether host start-up waits until the model is loaded.
    /// When <see langword="false"/>, the load runs in the background and the readiness check reports
    /// Unhealthy until it is done.
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool WaitForStartup { get; set; }

    /// <summary>
    /// How long a loaded generation lives before the cache reloads it from the source, or <see langword="null"/>
    /// to keep it until the source changes. The reload starts ahead of expiry (see <see cref="RefreshAheadRatio"/>)
    /// and the current model keeps serving meanwhile, and beyond expiry if the reload fails.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public TimeSpan? TimeToLive { get; set; }

    /// <summary>
    /// The fraction of <see cref="TimeToLive"/> after which the background refresh starts (0.1–1.0).
    /// <value>The default is 0.8.</value>
    /// </summary>
    public double RefreshAheadRatio { get; set; } = 0.8;

    /// <summary>
    /// Unloads the model after it has not been used for this long, to free memory; the next use loads it
    /// again. <see langword="null"/> keeps it loaded.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>
    /// The longest a single load may take (fetch, load, validation, warm-up), independent of callers'
    /// cancellation tokens. A load past it fails with a timeout.
    /// <value>The default is 2 minutes.</value>
    /// </summary>
    public TimeSpan LoadTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// After a failed load with no model serving, callers within this interval get the same
    /// <see cref="ModelLoadException"/> at once instead of starting another load.
    /// <value>The default is 2 seconds.</value>
    /// </summary>
    public TimeSpan FailureCooldown { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The first delay before a failed load is retried in the background; it doubles on every failure
    /// (with ±20% jitter) up to <see cref="RetryMaxDelay"/>. <see cref="TimeSpan.Zero"/> turns retries off.
    /// <value>The default is 2 seconds.</value>
    /// </summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The longest delay between background retries.
    /// <value>The default is 5 minutes.</value>
    /// </summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a swapped-out generation of an <see cref="IDisposable"/> model stays alive for callers that
    /// got it from <c>GetModel()</c> (which pins nothing) before it is disposed. Leases pin a generation
    /// for as long as they live, whatever this delay.
    /// <value>The default is 10 seconds.</value>
    /// </summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Like <see cref="DrainDelay"/>, for a generation evicted to keep a memory budget (the shorter of the two applies):
    /// its memory is what the load that evicted it waits for. Callers that hold the model longer than this after an
    /// eviction must hold a lease (<c>Acquire()</c>; a prediction pool does), which keeps it for as long as they need.
    /// <value>The default is 1 second.</value>
    /// </summary>
    public TimeSpan EvictionDrainDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether hits are counted (<see cref="ModelCacheStatistics.Hits"/>, the <c>modelcache.requests</c> hit
    /// measurement). Counting writes only to a cell of the calling thread's own (found from its stack address, with
    /// no thread-local lookup), never to a shared line, and costs about 2 ns per hit; turn it off on the hottest
    /// paths (a hit is then one read, as cheap as <see cref="Lazy{T}.Value"/>) and
    /// <see cref="ModelCacheStatistics.Hits"/> stays 0.
    /// Misses, loads and everything else are always counted, and idle timeouts work either way. Under a memory budget the
    /// eviction values a model by its uses: with hit counting off it sees only its misses (loads), not its hits.
    /// <value>The default is <see langword="true"/>.</value>
    /// </summary>
    public bool TrackHits { get; set; } = true;

    /// <summary>
    /// How a reload replaces the serving generation.
    /// <value>The default is <see cref="ModelSwapMode.LoadBeside"/>.</value>
    /// </summary>
    public ModelSwapMode SwapMode { get; set; } = ModelSwapMode.LoadBeside;

    /// <summary>
    /// What is kept of the replaced version for <see cref="IModelCache.RollbackAsync(CancellationToken)"/>: its bytes, its loaded
    /// generation (instant rollback, two models in memory) or nothing.
    /// <value>
    /// The default is <see cref="ModelRollbackRetention.Artifact"/>, and <see cref="ModelRollbackRetention.None"/> for a
    /// model made from a template (its raw bytes would be charged to the budget beside each model).
    /// </value>
    /// </summary>
    public ModelRollbackRetention RollbackRetention { get; set; } = ModelRollbackRetention.Artifact;

    /// <summary>
    /// The SHA-256 (hex) the model content must have; content with another hash is rejected.
    /// <value>The default is <see langword="null"/> (no check).</value>
    /// </summary>
    public string? ExpectedSha256 { get; set; }

    /// <summary>
    /// The largest model content accepted, in bytes. The limit holds while reading: a larger or endless source
    /// fails after at most this many bytes (plus one read segment of at most 4 MiB), never after buffering it all.
    /// The content is held in one array, so the largest possible value is <see cref="Array.MaxLength"/> (just under 2 GiB).
    /// <value>The default is 1 GiB.</value>
    /// </summary>
    public long MaxArtifactBytes { get; set; } = DefaultMaxArtifactBytes;

    /// <summary>
    /// Whether a memory budget may evict the model. A pinned model (and every <see cref="ModelLoadPolicy.Eager"/> one)
    /// is never evicted; its bytes still count against the budget.
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool Pinned { get; set; }

    /// <summary>
    /// How the model's size is measured for its version, the <c>modelcache.model.size</c> metric and a memory budget,
    /// when no <see cref="ModelOptions{TModel}.SizeEstimator"/> is set.
    /// <value>The default is <see cref="ModelSizeMeasure.ArtifactBytes"/>.</value>
    /// </summary>
    public ModelSizeMeasure SizeMeasure { get; set; } = ModelSizeMeasure.ArtifactBytes;

    /// <summary>
    /// How many load attempts <see cref="IModelCache.GetHistory"/> keeps.
    /// <value>The default is 20.</value>
    /// </summary>
    public int HistoryLength { get; set; } = 20;

    /// <summary>Returns the problems with these settings, each naming the model and the field.</summary>
    internal IEnumerable<string> Validate(string modelName) => ModelOptionsRules.Problems(this, modelName);

    internal static bool IsSha256Hex([NotNullWhen(true)] string? value) => ModelOptionsRules.IsSha256Hex(value);

    internal static string Problem(string modelName, string field, string message) => ModelOptionsRules.Problem(modelName, field, message);
}
