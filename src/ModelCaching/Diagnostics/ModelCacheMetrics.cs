using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ModelCaching.Diagnostics;

/// <summary>
/// The <c>ModelCaching</c> meter's instruments. Loads, failures, unloads and waits are recorded here as they happen;
/// hit and miss counts, leases, loaded models and sizes are observable instruments (<see cref="ModelCacheObservations"/>)
/// read from the caches when a listener collects, so the hit path does no metric work.
/// </summary>
/// <remarks>
/// Series are bounded by the models that exist: a model made from a template is named in a series only once its source
/// has returned content (or it has loaded). Until then (a name nobody published, made up by a client) its loads are counted under
/// <see cref="UnknownModelName"/> and its template, and the observable instruments leave it out, so made-up names add
/// no series however many there are.
/// </remarks>
internal sealed class ModelCacheMetrics : IDisposable
{
    // Attribute names, shared by metrics and spans: OpenTelemetry's naming guidance (a namespace, dots between
    // components, snake_case within one) and its registered error.type.
    internal const string ModelNameTag = "modelcache.model.name";
    internal const string ModelVersionTag = "modelcache.model.version";
    internal const string ModelStateTag = "modelcache.model.state";
    internal const string LoadOutcomeTag = "modelcache.load.outcome";
    internal const string LoadReasonTag = "modelcache.load.reason";
    internal const string UnloadReasonTag = "modelcache.unload.reason";
    internal const string RequestResultTag = "modelcache.request.result";
    internal const string ErrorTypeTag = "error.type";
    internal const string BudgetScopeTag = "modelcache.budget.scope";
    internal const string MemoryStateTag = "modelcache.memory.state";
    internal const string WaitedForTag = "modelcache.load.waited_for";
    internal const string ModelTemplateTag = "modelcache.model.template";

    // The model name of every series of a template's model that has never loaded: one value, whatever the names asked.
    internal const string UnknownModelName = "(unknown)";

    // What a load waited for before it could run: one of the MaxConcurrentLoads slots, or memory in its budget.
    internal const string WaitedForSlot = "slot";
    internal const string WaitedForMemory = "memory";

    private static readonly Lazy<ModelCacheMetrics> s_shared = new(() => new ModelCacheMetrics(meterFactory: null));

    private readonly Meter _meter;
    private readonly ModelCacheObservations _observations;
    private readonly Counter<long> _loads;
    private readonly Counter<long> _loadFailures;
    private readonly Histogram<double> _loadDuration;
    private readonly Counter<long> _unloads;
    private readonly Histogram<double> _loadWait;

    public ModelCacheMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(ModelCacheDiagnostics.MeterName) ?? new Meter(ModelCacheDiagnostics.MeterName);
        _observations = new ModelCacheObservations(_meter);

        _loads = _meter.CreateCounter<long>("modelcache.loads", "{load}", "Load attempts, by outcome (success, unchanged, skipped, failure) and reason.");
        _loadFailures = _meter.CreateCounter<long>("modelcache.load.failures", "{load}", "Failed load attempts, by error type. A failed reload keeps the last good model serving.");
        _loadDuration = _meter.CreateHistogram<double>(
            "modelcache.load.duration",
            "s",
            "Time to fetch, load, validate and warm up a model.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] });
        _unloads = _meter.CreateCounter<long>("modelcache.unloads", "{unload}", "Models unloaded, by reason: idle, invalidated, or memory_budget (evicted to keep a memory budget).");
        _loadWait = _meter.CreateHistogram<double>(
            "modelcache.load.wait.duration",
            "s",
            "Time a load waited before it ran, by what it waited for: a load slot (MaxConcurrentLoads) or memory in its budget.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    }

    /// <summary>The instance used by caches created without dependency injection.</summary>
    public static ModelCacheMetrics Shared => s_shared.Value;

    /// <summary>
    /// A cache is made (<see cref="Unregister(IMetricsSource)"/> at its disposal). A template's model is not registered one
    /// by one: its provider lists the template models it keeps (<see cref="Register(ITemplateModels)"/>), which costs
    /// a known name no entry here (issue 18: what a known name costs).
    /// </summary>
    public void Register(IMetricsSource cache)
    {
        if (cache.TemplateName is null)
        {
            _observations.Register(cache);
        }
    }

    public void Unregister(IMetricsSource cache)
    {
        if (cache.TemplateName is null)
        {
            _observations.Unregister(cache);
        }
    }

    /// <summary>A provider with templates: the observable instruments read the template models it keeps, until it is disposed.</summary>
    public void Register(ITemplateModels provider) => _observations.Register(provider);

    public void Unregister(ITemplateModels provider) => _observations.Unregister(provider);

    public void RecordLoad(IMetricsSource cache, ModelLoadReason reason, ModelLoadOutcome outcome, long startTimestamp, long endTimestamp, TimeProvider timeProvider, Exception? error)
    {
        if (_loads.Enabled)
        {
            TagList tags = ModelTags(cache);
            tags.Add(LoadOutcomeTag, OutcomeTag(outcome));
            tags.Add(LoadReasonTag, ReasonTag(reason));
            _loads.Add(1, tags);
        }

        if (_loadDuration.Enabled && outcome is ModelLoadOutcome.Success or ModelLoadOutcome.Failure)
        {
            TagList tags = ModelTags(cache);
            tags.Add(LoadOutcomeTag, OutcomeTag(outcome));
            _loadDuration.Record(timeProvider.GetElapsedTime(startTimestamp, endTimestamp).TotalSeconds, tags);
        }

        if (error is not null && _loadFailures.Enabled)
        {
            Exception cause = error is ModelLoadException { InnerException: { } inner } ? inner : error;
            TagList tags = ModelTags(cache);
            tags.Add(ErrorTypeTag, cause.GetType().FullName);
            _loadFailures.Add(1, tags);
        }
    }

    public void RecordUnload(IMetricsSource cache, string reason)
    {
        if (_unloads.Enabled)
        {
            TagList tags = ModelTags(cache);
            tags.Add(UnloadReasonTag, reason);
            _unloads.Add(1, tags);
        }
    }

    public void RecordLoadWait(IMetricsSource cache, string waitedFor, TimeSpan waited)
    {
        if (_loadWait.Enabled)
        {
            TagList tags = ModelTags(cache);
            tags.Add(WaitedForTag, waitedFor);
            _loadWait.Record(waited.TotalSeconds, tags);
        }
    }

    /// <summary>Whether series may name <paramref name="cache"/>: a registered model always, a template's model once it is known to exist.</summary>
    internal static bool IsNamed(IMetricsSource cache) => cache.TemplateName is null || cache.Exists;

    // The model's name, or for a template's model that never loaded the one unknown name and its template (bounded by
    // the templates registered).
    private static TagList ModelTags(IMetricsSource cache) => IsNamed(cache)
        ? new TagList { { ModelNameTag, cache.Name } }
        : new TagList { { ModelNameTag, UnknownModelName }, { ModelTemplateTag, cache.TemplateName } };

    public void Register(Budget.MemoryBudget budget) => _observations.Register(budget);

    public void Register(ModelLoadLimiter limiter) => _observations.Register(limiter);

    public void Dispose() => _meter.Dispose();

    internal static string OutcomeTag(ModelLoadOutcome outcome) => outcome switch
    {
        ModelLoadOutcome.Success => "success",
        ModelLoadOutcome.Unchanged => "unchanged",
        ModelLoadOutcome.Skipped => "skipped",
        _ => "failure",
    };

    internal static string StateTag(ModelCacheState state) => state switch
    {
        ModelCacheState.NotLoaded => "not_loaded",
        ModelCacheState.Loading => "loading",
        ModelCacheState.Ready => "ready",
        ModelCacheState.Degraded => "degraded",
        ModelCacheState.Failed => "failed",
        ModelCacheState.Evicted => "evicted",
        _ => "unloaded",
    };

    internal static string ReasonTag(ModelLoadReason reason) => reason switch
    {
        ModelLoadReason.FirstUse => "first_use",
        ModelLoadReason.Startup => "startup",
        ModelLoadReason.Explicit => "explicit",
        ModelLoadReason.SourceChanged => "source_changed",
        ModelLoadReason.RefreshAhead => "refresh_ahead",
        ModelLoadReason.Retry => "retry",
        _ => "rollback",
    };

    /// <summary>Who keeps a provider's template models (the provider): the ones it keeps now, dropped ones not.</summary>
    internal interface ITemplateModels
    {
        /// <summary>The caches made from templates and kept; each has a <see cref="IMetricsSource.TemplateName"/>.</summary>
        IEnumerable<IMetricsSource> TemplateModels();
    }

    /// <summary>What the observable instruments read from a cache.</summary>
    internal interface IMetricsSource
    {
        string Name { get; }

        /// <summary>The template the model was made from, or <see langword="null"/> for a model registered by name.</summary>
        string? TemplateName { get; }

        /// <summary>Whether the model is known to exist: its source has returned content once, or a generation has loaded.</summary>
        bool Exists { get; }

        long HitCount { get; }

        long MissCount { get; }

        long ActiveLeaseCount { get; }

        long RetiredGenerationCount { get; }

        ModelVersion? CurrentVersion { get; }

        ModelCacheState State { get; }
    }
}
