using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ModelCaching.Diagnostics;

/// <summary>
/// The <c>ModelCaching</c> meter's instruments. Hit and miss counts, leases, loaded models and sizes are
/// observable instruments read from the caches when a listener collects, so the hit path does no metric work.
/// </summary>
internal sealed class ModelCacheMetrics : IDisposable
{
    private static readonly Lazy<ModelCacheMetrics> s_shared = new(() => new ModelCacheMetrics(meterFactory: null));

    private readonly Meter _meter;
    private readonly ConcurrentDictionary<IMetricsSource, byte> _caches = new();
    private readonly Counter<long> _loads;
    private readonly Counter<long> _loadFailures;
    private readonly Histogram<double> _loadDuration;
    private readonly Counter<long> _unloads;

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
        _unloads = _meter.CreateCounter<long>("modelcache.unloads", "{unload}", "Models unloaded, by reason (idle, invalidated).");

        _meter.CreateObservableCounter("modelcache.requests", ObserveRequests, "{request}", "Model requests, by result (hit, miss).");
        _meter.CreateObservableUpDownCounter("modelcache.leases.active", ObserveLeases, "{lease}", "Leases not yet disposed.");
        _meter.CreateObservableUpDownCounter("modelcache.models.loaded", ObserveLoaded, "{model}", "Models with a generation serving.");
        _meter.CreateObservableGauge("modelcache.model.size", ObserveSize, "By", "Estimated size of the serving generation.");
        _meter.CreateObservableGauge("modelcache.model.generation", ObserveGeneration, "{generation}", "Generation number of the serving model.");
    }

    /// <summary>The instance used by caches created without dependency injection.</summary>
    public static ModelCacheMetrics Shared => s_shared.Value;

    public void Register(IMetricsSource cache) => _caches.TryAdd(cache, 0);

    public void Unregister(IMetricsSource cache) => _caches.TryRemove(cache, out _);

    public void RecordLoad(string modelName, ModelLoadReason reason, ModelLoadOutcome outcome, long startTimestamp, long endTimestamp, TimeProvider timeProvider, Exception? error)
    {
        if (_loads.Enabled)
        {
            _loads.Add(1, new KeyValuePair<string, object?>("model", modelName), new KeyValuePair<string, object?>("outcome", OutcomeTag(outcome)), new KeyValuePair<string, object?>("reason", ReasonTag(reason)));
        }

        if (_loadDuration.Enabled && outcome is ModelLoadOutcome.Success or ModelLoadOutcome.Failure)
        {
            _loadDuration.Record(timeProvider.GetElapsedTime(startTimestamp, endTimestamp).TotalSeconds, new KeyValuePair<string, object?>("model", modelName), new KeyValuePair<string, object?>("outcome", OutcomeTag(outcome)));
        }

        if (error is not null && _loadFailures.Enabled)
        {
            Exception cause = error is ModelLoadException { InnerException: { } inner } ? inner : error;
            _loadFailures.Add(1, new KeyValuePair<string, object?>("model", modelName), new KeyValuePair<string, object?>("error.type", cause.GetType().FullName));
        }
    }

    public void RecordUnload(string modelName, string reason)
    {
        if (_unloads.Enabled)
        {
            _unloads.Add(1, new KeyValuePair<string, object?>("model", modelName), new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void Dispose() => _meter.Dispose();

    internal static string OutcomeTag(ModelLoadOutcome outcome) => outcome switch
    {
        ModelLoadOutcome.Success => "success",
        ModelLoadOutcome.Unchanged => "unchanged",
        ModelLoadOutcome.Skipped => "skipped",
        _ => "failure",
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
        foreach (IMetricsSource cache in _caches.Keys)
        {
            yield return new Measurement<long>(cache.HitCount, new KeyValuePair<string, object?>("model", cache.Name), new KeyValuePair<string, object?>("result", "hit"));
            yield return new Measurement<long>(cache.MissCount, new KeyValuePair<string, object?>("model", cache.Name), new KeyValuePair<string, object?>("result", "miss"));
        }
    }

    private IEnumerable<Measurement<long>> ObserveLeases()
    {
        foreach (IMetricsSource cache in _caches.Keys)
        {
            yield return new Measurement<long>(cache.ActiveLeaseCount, new KeyValuePair<string, object?>("model", cache.Name));
        }
    }

    private IEnumerable<Measurement<long>> ObserveLoaded()
    {
        foreach (IMetricsSource cache in _caches.Keys)
        {
            yield return new Measurement<long>(cache.CurrentVersion is null ? 0 : 1, new KeyValuePair<string, object?>("model", cache.Name));
        }
    }

    private IEnumerable<Measurement<long>> ObserveSize()
    {
        foreach (IMetricsSource cache in _caches.Keys)
        {
            if (cache.CurrentVersion is { } version)
            {
                yield return new Measurement<long>(version.SizeBytes, new KeyValuePair<string, object?>("model", cache.Name));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveGeneration()
    {
        foreach (IMetricsSource cache in _caches.Keys)
        {
            if (cache.CurrentVersion is { } version)
            {
                yield return new Measurement<long>(version.Generation, new KeyValuePair<string, object?>("model", cache.Name));
            }
        }
    }

    /// <summary>What the observable instruments read from a cache.</summary>
    internal interface IMetricsSource
    {
        string Name { get; }

        long HitCount { get; }

        long MissCount { get; }

        long ActiveLeaseCount { get; }

        ModelVersion? CurrentVersion { get; }
    }
}
