using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace ModelCaching.ML.Diagnostics;

/// <summary>
/// The prediction pools' instruments on the <c>ModelCaching</c> meter. All are observable: they read the pools'
/// counters when a listener collects, so a prediction does no metric work.
/// </summary>
internal static class PredictionPoolMetrics
{
    private static readonly ConcurrentDictionary<IPoolMetricsSource, byte> s_pools = new();

    // One meter for the process, like the core's caches created without DI: instruments are observed by name.
    private static readonly Meter s_meter = CreateMeter();

    public static void Register(IPoolMetricsSource pool) => s_pools.TryAdd(pool, 0);

    public static void Unregister(IPoolMetricsSource pool) => s_pools.TryRemove(pool, out _);

    private static Meter CreateMeter()
    {
        var meter = new Meter(ModelCacheDiagnostics.MeterName);
        meter.CreateObservableUpDownCounter("modelcache.pool.engines", ObserveEngines, "{engine}", "Prediction engines alive (idle or in use), in every model generation.");
        meter.CreateObservableCounter("modelcache.pool.engines.created", ObserveCreated, "{engine}", "Prediction engines created, by kind (pooled, extra beyond the maximum).");
        meter.CreateObservableCounter("modelcache.pool.engines.faulted", ObserveFaulted, "{engine}", "Prediction engines dropped because a prediction on them threw.");
        meter.CreateObservableCounter("modelcache.pool.waits", ObserveWaits, "{wait}", "Predictions that waited for an engine (exhaustion policy Wait).");
        return meter;
    }

    private static IEnumerable<Measurement<long>> ObserveEngines() =>
        Observe(static s => s.LiveEngines);

    private static IEnumerable<Measurement<long>> ObserveFaulted() =>
        Observe(static s => s.EnginesFaulted);

    private static IEnumerable<Measurement<long>> ObserveWaits() =>
        Observe(static s => s.Waits);

    private static IEnumerable<Measurement<long>> ObserveCreated()
    {
        foreach (IPoolMetricsSource pool in s_pools.Keys)
        {
            PredictionPoolStatistics statistics = pool.GetStatistics();
            yield return new Measurement<long>(statistics.EnginesCreated - statistics.ExtraEnginesCreated, Tag(pool), new KeyValuePair<string, object?>("kind", "pooled"));
            yield return new Measurement<long>(statistics.ExtraEnginesCreated, Tag(pool), new KeyValuePair<string, object?>("kind", "extra"));
        }
    }

    private static IEnumerable<Measurement<long>> Observe(Func<PredictionPoolStatistics, long> value)
    {
        foreach (IPoolMetricsSource pool in s_pools.Keys)
        {
            yield return new Measurement<long>(value(pool.GetStatistics()), Tag(pool));
        }
    }

    private static KeyValuePair<string, object?> Tag(IPoolMetricsSource pool) => new("model", pool.ModelName);

    /// <summary>What the instruments read from a pool.</summary>
    internal interface IPoolMetricsSource
    {
        string ModelName { get; }

        PredictionPoolStatistics GetStatistics();
    }
}
