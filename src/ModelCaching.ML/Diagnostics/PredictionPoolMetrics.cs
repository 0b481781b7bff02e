using System.Runtime.CompilerServices;
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
    // Every live pool in the process; each application's instance reports its own (see Owns). Held weakly: a pool
    // nobody disposes (a template model's, whose name the provider forgot) must not be kept alive by its metrics.
    private static readonly ConditionalWeakTable<IPoolMetricsSource, object?> s_pools = [];

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

    public static void Register(IPoolMetricsSource pool) => s_pools.TryAdd(pool, null);

    public static void Unregister(IPoolMetricsSource pool) => s_pools.Remove(pool);

    /// <summary>Whether a pool is registered (for tests).</summary>
    internal static bool IsRegistered(IPoolMetricsSource pool) => s_pools.TryGetValue(pool, out _);

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
        HashSet<string> names = ProviderNames();
        foreach (KeyValuePair<IPoolMetricsSource, object?> entry in s_pools)
        {
            IPoolMetricsSource pool = entry.Key;
            if (Owns(pool, names))
            {
                PredictionPoolStatistics statistics = pool.GetStatistics();
                yield return new Measurement<long>(statistics.EnginesCreated - statistics.ExtraEnginesCreated, Tag(pool), new KeyValuePair<string, object?>(EngineKindTag, "pooled"));
                yield return new Measurement<long>(statistics.ExtraEnginesCreated, Tag(pool), new KeyValuePair<string, object?>(EngineKindTag, "extra"));
            }
        }
    }

    private IEnumerable<Measurement<long>> Observe(Func<PredictionPoolStatistics, long> value)
    {
        HashSet<string> names = ProviderNames();
        foreach (KeyValuePair<IPoolMetricsSource, object?> entry in s_pools)
        {
            IPoolMetricsSource pool = entry.Key;
            if (Owns(pool, names))
            {
                yield return new Measurement<long>(value(pool.GetStatistics()), Tag(pool));
            }
        }
    }

    // The provider's names, read once per collection: with a template there are as many as there are tenants, and
    // listing them builds a sorted list each time.
    private HashSet<string> ProviderNames() => new(_provider.Names, StringComparer.Ordinal);

    // A pool belongs to this application when its cache is the provider's cache of that name (another host in the
    // same process, a test say, has its own provider and its own caches). Only names the provider keeps are looked
    // up: asking for another would make a template's model.
    private bool Owns(IPoolMetricsSource pool, HashSet<string> names)
    {
        string name = pool.Cache.Name;
        if (!names.Contains(name))
        {
            return false;
        }

        try
        {
            return ReferenceEquals(_provider.GetCache(name), pool.Cache);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException or KeyNotFoundException)
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
