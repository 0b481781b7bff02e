using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ModelCaching.Diagnostics;

/// <summary>
/// The <c>ModelCaching</c> meter's instruments. Hit and miss counts, leases, loaded models and sizes are
/// observable instruments read from the caches when a listener collects, so the hit path does no metric work.
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

    private static readonly ModelCacheState[] s_states = Enum.GetValues<ModelCacheState>();

    private static readonly Lazy<ModelCacheMetrics> s_shared = new(() => new ModelCacheMetrics(meterFactory: null));

    private readonly Meter _meter;
    private readonly ConcurrentDictionary<IMetricsSource, byte> _caches = new();
    private readonly Counter<long> _loads;
    private readonly Counter<long> _loadFailures;
    private readonly Histogram<double> _loadDuration;
    private readonly Counter<long> _unloads;
    private readonly Histogram<double> _loadWait;
    private readonly ConcurrentDictionary<Budget.MemoryBudget, byte> _budgets = new();
    private readonly ConcurrentDictionary<ModelLoadLimiter, byte> _limiters = new();

    public ModelCacheMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(ModelCacheDiagnostics.MeterName) ?? new Meter(ModelCacheDiagnostics.MeterName);

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
        _meter.CreateObservableUpDownCounter("modelcache.load.queue.length", ObserveQueues, "{load}", "Loads waiting, by what they wait for: a load slot or memory in their budget.");
        _meter.CreateObservableGauge("modelcache.memory.limit", ObserveBudgetLimits, "By", "Memory budgets, by scope (provider, or a template's name).");
        _meter.CreateObservableGauge("modelcache.memory.usage", ObserveBudgetUsage, "By", "Bytes counted against each memory budget, by state: resident (serving), draining (evicted or swapped out, still held by leases or the drain delay) and reserved (loads in progress).");

        _meter.CreateObservableCounter("modelcache.requests", ObserveRequests, "{request}", "Model requests, by result (hit, miss).");
        // Up-down counters are named {thing}.count, as OpenTelemetry's guidance asks instead of a plural.
        _meter.CreateObservableUpDownCounter("modelcache.lease.count", ObserveLeases, "{lease}", "Leases not yet disposed (a prediction pool holds one on its current generation).");
        _meter.CreateObservableUpDownCounter("modelcache.generation.retired.count", ObserveRetiredGenerations, "{generation}", "Swapped-out generations not yet disposed: at most one waiting out the drain delay, plus any that leases still pin.");
        _meter.CreateObservableUpDownCounter("modelcache.model.count", ObserveStates, "{model}", "Models by state (not_loaded, loading, ready, degraded, failed, unloaded): 1 for each model's current state, 0 for the others.");
        _meter.CreateObservableGauge("modelcache.model.size", ObserveSize, "By", "Estimated size of the serving generation.");
        _meter.CreateObservableGauge("modelcache.model.generation", ObserveGeneration, "{generation}", "Generation number of the serving model, with its version id.");
    }

    /// <summary>The instance used by caches created without dependency injection.</summary>
    public static ModelCacheMetrics Shared => s_shared.Value;

    public void Register(IMetricsSource cache) => _caches.TryAdd(cache, 0);

    public void Unregister(IMetricsSource cache) => _caches.TryRemove(cache, out _);

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

    public void Register(Budget.MemoryBudget budget) => _budgets.TryAdd(budget, 0);

    public void Register(ModelLoadLimiter limiter) => _limiters.TryAdd(limiter, 0);

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> ObserveQueues()
    {
        foreach (ModelLoadLimiter limiter in _limiters.Keys)
        {
            yield return new Measurement<long>(limiter.Queued, new KeyValuePair<string, object?>(WaitedForTag, WaitedForSlot));
        }

        long waitingForMemory = 0;
        foreach (Budget.MemoryBudget budget in _budgets.Keys)
        {
            waitingForMemory += budget.Snapshot().Waiting;
        }

        yield return new Measurement<long>(waitingForMemory, new KeyValuePair<string, object?>(WaitedForTag, WaitedForMemory));
    }

    private IEnumerable<Measurement<long>> ObserveBudgetLimits()
    {
        foreach (Budget.MemoryBudget budget in _budgets.Keys)
        {
            yield return new Measurement<long>(budget.Limit, new KeyValuePair<string, object?>(BudgetScopeTag, budget.Scope));
        }
    }

    private IEnumerable<Measurement<long>> ObserveBudgetUsage()
    {
        foreach (Budget.MemoryBudget budget in _budgets.Keys)
        {
            Budget.MemorySnapshot snapshot = budget.Snapshot();
            yield return new Measurement<long>(snapshot.Resident, new KeyValuePair<string, object?>(BudgetScopeTag, budget.Scope), new KeyValuePair<string, object?>(MemoryStateTag, "resident"));
            yield return new Measurement<long>(snapshot.Draining, new KeyValuePair<string, object?>(BudgetScopeTag, budget.Scope), new KeyValuePair<string, object?>(MemoryStateTag, "draining"));
            yield return new Measurement<long>(snapshot.Reserved, new KeyValuePair<string, object?>(BudgetScopeTag, budget.Scope), new KeyValuePair<string, object?>(MemoryStateTag, "reserved"));
        }
    }

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

    private IEnumerable<Measurement<long>> ObserveRequests()
    {
        foreach (IMetricsSource cache in NamedCaches())
        {
            yield return new Measurement<long>(cache.HitCount, new KeyValuePair<string, object?>(ModelNameTag, cache.Name), new KeyValuePair<string, object?>(RequestResultTag, "hit"));
            yield return new Measurement<long>(cache.MissCount, new KeyValuePair<string, object?>(ModelNameTag, cache.Name), new KeyValuePair<string, object?>(RequestResultTag, "miss"));
        }
    }

    private IEnumerable<Measurement<long>> ObserveLeases()
    {
        foreach (IMetricsSource cache in NamedCaches())
        {
            yield return new Measurement<long>(cache.ActiveLeaseCount, new KeyValuePair<string, object?>(ModelNameTag, cache.Name));
        }
    }

    private IEnumerable<Measurement<long>> ObserveRetiredGenerations()
    {
        foreach (IMetricsSource cache in NamedCaches())
        {
            yield return new Measurement<long>(cache.RetiredGenerationCount, new KeyValuePair<string, object?>(ModelNameTag, cache.Name));
        }
    }

    private IEnumerable<Measurement<long>> ObserveStates()
    {
        foreach (IMetricsSource cache in NamedCaches())
        {
            ModelCacheState current = cache.State;
            foreach (ModelCacheState state in s_states)
            {
                yield return new Measurement<long>(state == current ? 1 : 0, new KeyValuePair<string, object?>(ModelNameTag, cache.Name), new KeyValuePair<string, object?>(ModelStateTag, StateTag(state)));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveSize()
    {
        foreach (IMetricsSource cache in NamedCaches())
        {
            if (cache.CurrentVersion is { } version)
            {
                yield return new Measurement<long>(version.SizeBytes, new KeyValuePair<string, object?>(ModelNameTag, cache.Name));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveGeneration()
    {
        foreach (IMetricsSource cache in NamedCaches())
        {
            if (cache.CurrentVersion is { } version)
            {
                yield return new Measurement<long>(version.Generation, new KeyValuePair<string, object?>(ModelNameTag, cache.Name), new KeyValuePair<string, object?>(ModelVersionTag, version.Id));
            }
        }
    }

    // The caches the observable instruments report: not a template's model that never loaded (see IsNamed).
    private IEnumerable<IMetricsSource> NamedCaches()
    {
        foreach (IMetricsSource cache in _caches.Keys)
        {
            if (IsNamed(cache))
            {
                yield return cache;
            }
        }
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
