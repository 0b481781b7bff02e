using System.Runtime.CompilerServices;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;
using ModelCaching.Expiration;
using ModelCaching.Generations;
using ModelCaching.Loading;

namespace ModelCaching;

/// <summary>
/// Keeps one model in memory: loads it once (lazily, eagerly or on a time-to-live), serves it without locks or allocations,
/// swaps in new generations atomically, and keeps the last good generation when a new one fails. Usable on its own or through <c>services.AddModelCache()</c>.
/// </summary>
/// <remarks>
/// This class is the front: the hit path, the public API, events and disposal (ModelCache.Lifetime.cs: construction, start-up, disposal).
/// Its parts do the work: <see cref="ServingChanges{TModel}"/> (the slot and what its changes mean), <see cref="LoadRunner{TModel}"/> (the loads and the misses); docs/architecture.md maps them.
/// </remarks>
/// <typeparam name="TModel">The model type.</typeparam>
public sealed partial class ModelCache<TModel> : IModelCache<TModel>, IDisposable, IAsyncDisposable, ModelCacheMetrics.IMetricsSource, IPolicyAwareCache, IOwnedModelCache
    where TModel : class
{
    private readonly ModelOptions<TModel> _options;
    private readonly StackRegionCounter _hits = new();
    private readonly bool _trackHits;
    private readonly ServingChanges<TModel> _changes;
    private readonly LoadRunner<TModel> _loads; // The loads, the misses and the timers' callbacks.
    private readonly ModelSlot<TModel> _slot; // What serves (the hit path reads it), owned by _changes.

    // Set by every hit and cleared by the idle timer: read first and written only when clear, so after the first
    // hit of a timer period concurrent hits only read it (the line stays shared in every core's cache).
    private bool _used;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public Type ModelType => typeof(TModel);

    /// <inheritdoc />
    public string SourceDescription { get; }

    /// <summary>The template this model was made from (<c>AddModelTemplate</c>), or <see langword="null"/> for a model registered by name or made on its own.</summary>
    public string? TemplateName { get; }

    /// <summary>A copy of the settings the cache was built with; changing it changes nothing.</summary>
    public ModelOptions<TModel> Options => _options.Snapshot(_loads.Factory);

    internal ModelOptions<TModel> Settings => _options; // As they are used (not a copy: never changed), for the cache's parts.

    internal LoadRunner<TModel> Loads => _loads; // What timers made after the constructor drive (ServingChanges).

    internal StackRegionCounter? CountedHits => _trackHits ? _hits : null; // A prediction pool adds its hits, counted per thread, to its sum (MarkUsed(countHit: false)).

    /// <inheritdoc />
    public ModelCacheState State => _slot.State;

    /// <inheritdoc />
    public ModelVersion? Version => _slot.Serving?.Version;

    /// <inheritdoc />
    public event EventHandler<ModelReloadedEventArgs>? Reloaded
    {
        add => _changes.Reloaded += value;
        remove => _changes.Reloaded -= value;
    }

    /// <inheritdoc />
    public event EventHandler<ModelUnloadedEventArgs>? Unloaded
    {
        add => _changes.Unloaded += value;
        remove => _changes.Unloaded -= value;
    }

    string ModelCacheMetrics.IMetricsSource.Name => Name;

    bool ModelCacheMetrics.IMetricsSource.Exists => _loads.SourceFound || _slot.GenerationCount > 0;

    long ModelCacheMetrics.IMetricsSource.HitCount => _hits.Sum();

    long ModelCacheMetrics.IMetricsSource.MissCount => _loads.Misses;

    long ModelCacheMetrics.IMetricsSource.ActiveLeaseCount => _slot.ActiveLeases;

    long ModelCacheMetrics.IMetricsSource.RetiredGenerationCount => _slot.RetiredCount;

    ModelVersion? ModelCacheMetrics.IMetricsSource.CurrentVersion => _slot.Serving?.Version;

    /// <summary>When the model is loaded and whether it expires (<see cref="ModelOptions.Policy"/>).</summary>
    public ModelLoadPolicy Policy => _options.Policy;

    bool IPolicyAwareCache.WaitForStartup => _options.WaitForStartup;

    /// <summary>The cache's member of its budget, if it has one (tests read what it publishes).</summary>
    internal BudgetMember? BudgetMember => _changes.Member;

    /// <inheritdoc />
    public TModel GetModel()
    {
        ModelGeneration<TModel>? current = _slot.Serving;
        if (current is not null)
        {
            MarkUsed();
            return current.Model;
        }

        return GetModelOnMiss();
    }

    /// <inheritdoc />
    public ValueTask<TModel> GetModelAsync(CancellationToken cancellationToken = default)
    {
        ModelGeneration<TModel>? current = _slot.Serving;
        if (current is not null)
        {
            MarkUsed();
            return new ValueTask<TModel>(current.Model);
        }

        return GetModelOnMissAsync(cancellationToken);
    }

    /// <inheritdoc />
    public ModelLease<TModel> Acquire()
    {
        ModelGeneration<TModel>? current = _slot.Serving;
        if (current is not null && ModelLease<TModel>.TryTake(current, out ModelLease<TModel> lease))
        {
            MarkUsed();
            return lease;
        }

        return AcquireOnMiss();
    }

    /// <inheritdoc />
    public ValueTask<ModelLease<TModel>> AcquireAsync(CancellationToken cancellationToken = default)
    {
        ModelGeneration<TModel>? current = _slot.Serving;
        if (current is not null && ModelLease<TModel>.TryTake(current, out ModelLease<TModel> lease))
        {
            MarkUsed();
            return new ValueTask<ModelLease<TModel>>(lease);
        }

        return AcquireOnMissAsync(cancellationToken);
    }

    // The misses: nothing serves (or it was disposed under the caller): wait for the shared load (LoadRunner.Requests.cs).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private TModel GetModelOnMiss() => _loads.WaitForGeneration().Model;

    private async ValueTask<TModel> GetModelOnMissAsync(CancellationToken cancellationToken) => (await _loads.WaitForGenerationAsync(cancellationToken).ConfigureAwait(false)).Model;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ModelLease<TModel> AcquireOnMiss()
    {
        while (true)
        {
            ModelGeneration<TModel> generation = _slot.Serving ?? _loads.WaitForGeneration();
            if (generation.TryAcquire())
            {
                MarkUsed();
                return new ModelLease<TModel>(generation);
            }

            // Swapped out and disposed between the read and the acquire: read the new one.
        }
    }

    private async ValueTask<ModelLease<TModel>> AcquireOnMissAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ModelGeneration<TModel>? current = _slot.Serving;
            if (current is null)
            {
                ModelGeneration<TModel> generation = await _loads.WaitForGenerationAsync(cancellationToken).ConfigureAwait(false);
                if (generation.TryAcquire())
                {
                    return new ModelLease<TModel>(generation);
                }
            }
            else if (current.TryAcquire())
            {
                MarkUsed();
                return new ModelLease<TModel>(current);
            }

            // Swapped out and disposed between the read and the acquire: read the new one.
        }
    }

    /// <inheritdoc />
    public Task<ModelVersion> ReloadAsync(CancellationToken cancellationToken = default) => _loads.ReloadAsync(force: false, requestedBy: null, cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersion> ReloadAsync(bool force, string? requestedBy = null, CancellationToken cancellationToken = default) => _loads.ReloadAsync(force, requestedBy, cancellationToken);

    /// <inheritdoc />
    public void Invalidate() => _changes.Unload("invalidated");

    /// <inheritdoc />
    public Task<ModelVersion> RollbackAsync(CancellationToken cancellationToken = default) => _loads.RollbackAsync(requestedBy: null, cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersion> RollbackAsync(string? requestedBy, CancellationToken cancellationToken = default) => _loads.RollbackAsync(requestedBy, cancellationToken);

    /// <inheritdoc />
    public IReadOnlyList<ModelLoadRecord> GetHistory() => _changes.History.Snapshot();

    /// <inheritdoc />
    public ModelCacheStatistics GetStatistics()
    {
        string? abandoned = _loads.Coordinator.AbandonedMessage();
        (SlotState state, ModelGeneration<TModel>? serving, string? lastError) = _slot.Read();
        return new ModelCacheStatistics
        {
            Hits = _hits.Sum(),
            Misses = _loads.Misses,
            Loads = _changes.History.Loads,
            LoadFailures = _changes.History.Failures,
            Unloads = _changes.History.Unloads,
            ActiveLeases = _slot.ActiveLeases,
            RetiredGenerations = _slot.RetiredCount,
            AbandonedLoadRunning = abandoned is not null,
            State = state.ToPublic(),
            Version = serving?.Version,
            LastError = abandoned ?? lastError,
        };
    }

    /// <inheritdoc />
    public override string ToString() => $"ModelCache<{typeof(TModel).Name}> '{Name}' ({State}, {_slot.Serving?.Version.Id ?? "no version"})";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void MarkUsed(bool countHit = true)
    {
        if (!_used)
        {
            _used = true;
        }

        if (_trackHits && countHit)
        {
            _hits.Increment();
        }
    }

    /// <summary>At an idle tick (<see cref="LoadRunner{TModel}"/>): whether a hit marked the model used since the last tick; clears the mark.</summary>
    internal bool TakeUsed()
    {
        bool used = _used;
        _used = false;
        return used;
    }
}
