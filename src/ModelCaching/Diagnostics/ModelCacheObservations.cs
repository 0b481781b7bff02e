using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using static ModelCaching.Diagnostics.ModelCacheMetrics;

namespace ModelCaching.Diagnostics;

/// <summary>
/// The <c>ModelCaching</c> meter's observable instruments and what they read: the caches, memory budgets and load
/// limiters registered with <see cref="ModelCacheMetrics"/>. Nothing is measured until a listener collects, so the hit
/// path does no metric work; a template's model that never loaded is left out (<see cref="ModelCacheMetrics.IsNamed"/>).
/// </summary>
internal sealed class ModelCacheObservations
{
    private static readonly ModelCacheState[] s_states = Enum.GetValues<ModelCacheState>();

    private readonly ConcurrentDictionary<IMetricsSource, byte> _caches = new();
    private readonly ConcurrentDictionary<Budget.MemoryBudget, byte> _budgets = new();
    private readonly ConcurrentDictionary<ModelLoadLimiter, byte> _limiters = new();

    // The providers with templates, each listing the template models it keeps (none is registered one by one).
    private readonly ConcurrentDictionary<ITemplateModels, byte> _templateModels = new();

    public ModelCacheObservations(Meter meter)
    {
        meter.CreateObservableUpDownCounter("modelcache.load.queue.length", ObserveQueues, "{load}", "Loads waiting, by what they wait for: a load slot or memory in their budget.");
        meter.CreateObservableGauge("modelcache.memory.limit", ObserveBudgetLimits, "By", "Memory budgets, by scope (provider, or a template's name).");
        meter.CreateObservableGauge("modelcache.memory.usage", ObserveBudgetUsage, "By", "Bytes counted against each memory budget, by state: resident (serving), draining (evicted or swapped out, still held by leases or the drain delay) and reserved (loads in progress).");
        meter.CreateObservableCounter("modelcache.requests", ObserveRequests, "{request}", "Model requests, by result (hit, miss).");
        // Up-down counters are named {thing}.count, as OpenTelemetry's guidance asks instead of a plural.
        meter.CreateObservableUpDownCounter("modelcache.lease.count", ObserveLeases, "{lease}", "Leases not yet disposed (a prediction pool holds one on its current generation).");
        meter.CreateObservableUpDownCounter("modelcache.generation.retired.count", ObserveRetiredGenerations, "{generation}", "Swapped-out generations not yet disposed: at most one waiting out the drain delay, plus any that leases still pin.");
        meter.CreateObservableUpDownCounter("modelcache.model.count", ObserveStates, "{model}", "Models by state (not_loaded, loading, ready, degraded, failed, unloaded): 1 for each model's current state, 0 for the others.");
        meter.CreateObservableGauge("modelcache.model.size", ObserveSize, "By", "Estimated size of the serving generation.");
        meter.CreateObservableGauge("modelcache.model.generation", ObserveGeneration, "{generation}", "Generation number of the serving model, with its version id.");
    }

    public void Register(IMetricsSource cache) => _caches.TryAdd(cache, 0);

    public void Unregister(IMetricsSource cache) => _caches.TryRemove(cache, out _);

    public void Register(ITemplateModels provider) => _templateModels.TryAdd(provider, 0);

    public void Unregister(ITemplateModels provider) => _templateModels.TryRemove(provider, out _);

    public void Register(Budget.MemoryBudget budget) => _budgets.TryAdd(budget, 0);

    public void Register(ModelLoadLimiter limiter) => _limiters.TryAdd(limiter, 0);

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
                yield return new Measurement<long>(state == current ? 1 : 0, new KeyValuePair<string, object?>(ModelNameTag, cache.Name), new KeyValuePair<string, object?>(ModelStateTag, ModelCacheMetrics.StateTag(state)));
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

    // The caches the observable instruments report: the ones registered by name, and the template models their providers
    // keep, but not a template's model that never loaded (see IsNamed).
    private IEnumerable<IMetricsSource> NamedCaches()
    {
        foreach (IMetricsSource cache in _caches.Keys)
        {
            if (IsNamed(cache))
            {
                yield return cache;
            }
        }

        foreach (ITemplateModels provider in _templateModels.Keys)
        {
            foreach (IMetricsSource cache in provider.TemplateModels())
            {
                if (IsNamed(cache))
                {
                    yield return cache;
                }
            }
        }
    }
}
