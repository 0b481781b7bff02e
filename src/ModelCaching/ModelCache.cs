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
/// Its parts do the work: <see cref="ServingChanges{TModel}"/> (the slot and what its changes mean), <see cref="LoadRunner{TModel}"/> (the loads and the misses; one is made when a load is asked for and dropped when it goes idle); docs/architecture.md maps them.
/// </remarks>
/// <typeparam name="TModel">The model type.</typeparam>
public sealed partial class ModelCache<TModel> : IModelCache<TModel>, IDisposable, IAsyncDisposable, ModelCacheMetrics.IMetricsSource, IPolicyAwareCache, IOwnedModelCache, ITimedModel, IServingCell<TModel>
    where TModel : class
{
    private readonly ModelOptions<TModel> _options;
    private readonly StackRegionCounter _hits = new();
    private readonly bool _trackHits;
    private readonly ServingChanges<TModel> _changes;
    private volatile ModelGeneration<TModel>? _serving; // What serves, the one field a hit reads: written by _changes' slot only (IServingCell).

    // Set by every hit and cleared by the idle timer: read first and written only when clear, so after the first
    // hit of a timer period concurrent hits only read it (the line stays shared in every core's cache).
    private bool _used;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public Type ModelType => typeof(TModel);

    /// <inheritdoc />
    public string SourceDescription => _origin is IModelSource source ? source.Description : Factory!.Description; // Read where it is kept (a template's model's made now).

    /// <summary>The template this model was made from (<c>AddModelTemplate</c>), or <see langword="null"/> for a model registered by name or made on its own.</summary>
    public string? TemplateName => _changes.Services.TemplateName;

    /// <summary>A copy of the settings the cache was built with; changing it changes nothing.</summary>
    public ModelOptions<TModel> Options => _options.Snapshot(Factory);

    internal ModelOptions<TModel> Settings => _options; // As they are used (not a copy: never changed), for the cache's parts.

    internal ServingChanges<TModel> Changes => _changes;

    internal ITimedModel Loads => this; // What timers made after the constructor drive (ServingChanges).

    internal StackRegionCounter? CountedHits => _trackHits ? _hits : null; // A prediction pool adds its hits, counted per thread, to its sum (MarkUsed(countHit: false)).

    /// <inheritdoc />
    public ModelCacheState State => _changes.Slot.State;

    /// <inheritdoc />
    public ModelVersion? Version => _serving?.Version;

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

    bool ModelCacheMetrics.IMetricsSource.Exists => _sourceFound || _changes.Slot.GenerationCount > 0;

    long ModelCacheMetrics.IMetricsSource.HitCount => _hits.Sum();

    long ModelCacheMetrics.IMetricsSource.MissCount => Interlocked.Read(ref _misses);

    long ModelCacheMetrics.IMetricsSource.ActiveLeaseCount => _changes.Slot.ActiveLeases;

    long ModelCacheMetrics.IMetricsSource.RetiredGenerationCount => _changes.Slot.RetiredCount;

    ModelVersion? ModelCacheMetrics.IMetricsSource.CurrentVersion => _serving?.Version;

    /// <summary>When the model is loaded and whether it expires (<see cref="ModelOptions.Policy"/>).</summary>
    public ModelLoadPolicy Policy => _options.Policy;

    bool IPolicyAwareCache.WaitForStartup => _options.WaitForStartup;

    /// <summary>The cache's member of its budget, if it has one (tests read what it publishes).</summary>
    internal BudgetMember? BudgetMember => _changes.Member;

    /// <inheritdoc />
    public TModel GetModel()
    {
        ModelGeneration<TModel>? current = _serving;
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
        ModelGeneration<TModel>? current = _serving;
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
        ModelGeneration<TModel>? current = _serving;
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
        ModelGeneration<TModel>? current = _serving;
        if (current is not null && ModelLease<TModel>.TryTake(current, out ModelLease<TModel> lease))
        {
            MarkUsed();
            return new ValueTask<ModelLease<TModel>>(lease);
        }

        return AcquireOnMissAsync(cancellationToken);
    }

    // The misses: nothing serves (or it was disposed under the caller): wait for the shared load (LoadRunner.Requests.cs).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private TModel GetModelOnMiss() => LoadRunner<TModel>.WaitForGeneration(this).Model;

    private async ValueTask<TModel> GetModelOnMissAsync(CancellationToken cancellationToken) =>
        (await LoadRunner<TModel>.WaitForGenerationAsync(this, cancellationToken).ConfigureAwait(false)).Model;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ModelLease<TModel> AcquireOnMiss() => LoadRunner<TModel>.AcquireOnMiss(this);

    private ValueTask<ModelLease<TModel>> AcquireOnMissAsync(CancellationToken cancellationToken) => LoadRunner<TModel>.AcquireOnMissAsync(this, cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersion> ReloadAsync(CancellationToken cancellationToken = default) => LoadRunner<TModel>.ReloadAsync(this, force: false, requestedBy: null, cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersion> ReloadAsync(bool force, string? requestedBy = null, CancellationToken cancellationToken = default) => LoadRunner<TModel>.ReloadAsync(this, force, requestedBy, cancellationToken);

    /// <inheritdoc />
    public void Invalidate() => _changes.Unload("invalidated");

    /// <inheritdoc />
    public Task<ModelVersion> RollbackAsync(CancellationToken cancellationToken = default) => LoadRunner<TModel>.RollbackAsync(this, requestedBy: null, cancellationToken);

    /// <inheritdoc />
    public Task<ModelVersion> RollbackAsync(string? requestedBy, CancellationToken cancellationToken = default) => LoadRunner<TModel>.RollbackAsync(this, requestedBy, cancellationToken);

    /// <inheritdoc />
    public IReadOnlyList<ModelLoadRecord> GetHistory() => _changes.History.Snapshot();

    /// <inheritdoc />
    public ModelCacheStatistics GetStatistics()
    {
        string? abandoned = LoadRunner<TModel>.Current(this)?.Coordinator.AbandonedMessage();
        (SlotState state, ModelGeneration<TModel>? serving, string? lastError) = _changes.Slot.Read();
        return new ModelCacheStatistics
        {
            Hits = _hits.Sum(),
            Misses = Interlocked.Read(ref _misses),
            Loads = _changes.History.Loads,
            LoadFailures = _changes.History.Failures,
            Unloads = _changes.History.Unloads,
            ActiveLeases = _changes.Slot.ActiveLeases,
            RetiredGenerations = _changes.Slot.RetiredCount,
            AbandonedLoadRunning = abandoned is not null,
            State = state.ToPublic(),
            Version = serving?.Version,
            LastError = abandoned ?? lastError,
        };
    }

    /// <inheritdoc />
    public override string ToString() => $"ModelCache<{typeof(TModel).Name}> '{Name}' ({State}, {_serving?.Version.Id ?? "no version"})";

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

    ModelGeneration<TModel>? IServingCell<TModel>.Serving { get => _serving; set => _serving = value; }

    ModelGeneration<TModel>? IServingCell<TModel>.Take() => Interlocked.Exchange(ref _serving, null);

    /// <summary>At an idle tick (<see cref="LoadRunner{TModel}"/>): whether a hit marked the model used since the last tick; clears the mark.</summary>
    internal bool TakeUsed()
    {
        bool used = _used;
        _used = false;
        return used;
    }
}
