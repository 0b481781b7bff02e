using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.ML;

namespace ModelCaching.ML.Diagnostics;

/// <summary>
/// The prediction pools' instruments on the <c>ModelCaching</c> meter, created through the application's
/// <see cref="IMeterFactory"/> like the caches' instruments. All are observable: they read the pools' counters when a
/// listener collects, so a prediction does no metric work. Each instance reports the pools whose model belongs to
/// its application's <see cref="IModelCacheProvider"/>.
/// </summary>
internal sealed class PredictionPoolMetrics : IDisposable
{
    // Every live pool in the process; each application's instance reports its own (see Owns).
    private static readonly ConcurrentDictionary<IPoolMetricsSource, byte> s_pools = new();

    private readonly IModelCacheProvider _provider;
    private readonly Meter _meter;

    public PredictionPoolMetrics(IModelCacheProvider provider, IMeterFactory? meterFactory)
    {
        _provider = provider;
        _meter = meterFactory?.Create(ModelCacheDiagnostics.MeterName) ?? new Meter(ModelCacheDiagnostics.MeterName);

        // Up-down counters are named {thing}.count, as OpenTelemetry's guidance asks instead of a plural.
        _meter.CreateObservableUpDownCounter("modelcache.pool.engine.count", ObserveEngines, "{engine}", "Prediction engines alive (idle or in use), in every model generation.");
        _meter.CreateObservableCounter("modelcache.pool.engines.created", ObserveCreated, "{engine}", "Prediction engines created, by kind (pooled, extra beyond the maximum).");
        _meter.CreateObservableCounter("modelcache.pool.engines.faulted", ObserveFaulted, "{engine}", "Prediction engines dropped because a prediction on them threw.");
        _meter.CreateObservableCounter("modelcache.pool.waits", ObserveWaits, "{wait}", "Predictions that waited for an engine (exhaustion policy Wait).");
    }

    /// <summary>The attribute that tells pooled engines from extra ones.</summary>
    internal const string EngineKindTag = "modelcache.pool.engine.kind";

    public static void Register(IPoolMetricsSource pool) => s_pools.TryAdd(pool, 0);

    public static void Unregister(IPoolMetricsSource pool) => s_pools.TryRemove(pool, out _);

    /// <summary>Registers the instruments' service (created with the first pool of the application).</summary>
    public static void Register(IServiceCollection services) =>
        services.TryAddSingleton(static sp => new PredictionPoolMetrics(sp.GetRequiredService<IModelCacheProvider>(), sp.GetService<IMeterFactory>()));

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> ObserveEngines() =>
        Observe(static s => s.LiveEngines);

    private IEnumerable<Measurement<long>> ObserveFaulted() =>
        Observe(static s => s.EnginesFaulted);

    private IEnumerable<Measurement<long>> ObserveWaits() =>
        Observe(static s => s.Waits);

    private IEnumerable<Measurement<long>> ObserveCreated()
    {
        foreach (IPoolMetricsSource pool in s_pools.Keys)
        {
            if (Owns(pool))
            {
                PredictionPoolStatistics statistics = pool.GetStatistics();
                yield return new Measurement<long>(statistics.EnginesCreated - statistics.ExtraEnginesCreated, Tag(pool), new KeyValuePair<string, object?>(EngineKindTag, "pooled"));
                yield return new Measurement<long>(statistics.ExtraEnginesCreated, Tag(pool), new KeyValuePair<string, object?>(EngineKindTag, "extra"));
            }
        }
    }

    private IEnumerable<Measurement<long>> Observe(Func<PredictionPoolStatistics, long> value)
    {
        foreach (IPoolMetricsSource pool in s_pools.Keys)
        {
            if (Owns(pool))
            {
                yield return new Measurement<long>(value(pool.GetStatistics()), Tag(pool));
            }
        }
    }

    // A pool belongs to this application when its cache is the provider's cache of that name (another host in the
    // same process, a test say, has its own provider and its own caches).
    private bool Owns(IPoolMetricsSource pool)
    {
        string name = pool.Cache.Name;
        if (!_provider.Names.Contains(name, StringComparer.Ordinal))
        {
            return false;
        }

        try
        {
            return ReferenceEquals(_provider.GetCache(name), pool.Cache);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            return false;
        }
    }

    private static KeyValuePair<string, object?> Tag(IPoolMetricsSource pool) => new("modelcache.model.name", pool.ModelName);

    /// <summary>What the instruments read from a pool.</summary>
    internal interface IPoolMetricsSource
    {
        string ModelName { get; }

        IModelCache<ITransformer> Cache { get; }

        PredictionPoolStatistics GetStatistics();
    }
}
