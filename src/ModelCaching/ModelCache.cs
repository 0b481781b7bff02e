using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;
using ModelCaching.Expiration;
using ModelCaching.FailSafe;
using ModelCaching.Generations;
using ModelCaching.Loading;

namespace ModelCaching;

/// <summary>
/// Keeps one model in memory: loads it once (lazily, eagerly or on a time-to-live), serves it without
/// locks or allocations, swaps in new generations atomically, and keeps the last good generation when a
/// new one fails. Usable on its own or through <c>services.AddModelCache()</c>.
/// </summary>
/// <remarks>
/// This class is the front: the hit path, the public API, events and disposal. The work is done by its parts, which it
/// makes and wires: <see cref="ServingChanges{TModel}"/> (the <see cref="ModelSlot{TModel}"/> that serves, what each of
/// its changes reports, the budget's member), <see cref="LoadRunner{TModel}"/> (loads through the
/// <see cref="LoadCoordinator{TModel}"/> and the <see cref="LoadPipeline{TModel}"/>, rollback), <see cref="LoadRequests{TModel}"/>
/// (misses and the timers' callbacks), <see cref="LoadStepHost{TModel}"/> (what the steps need: the budget, the
/// unload-first swap), <see cref="FailSafePolicy"/> and <see cref="ServingTimers"/>. docs/architecture.md maps them.
/// </remarks>
/// <typeparam name="TModel">The model type.</typeparam>
public sealed partial class ModelCache<TModel> : IModelCache<TModel>, IDisposable, IAsyncDisposable, ModelCacheMetrics.IMetricsSource, IPolicyAwareCache, IOwnedModelCache
    where TModel : class
{
    // How long DisposeAsync waits, in total, for running loads' threads to end after cancelling them.
    internal static readonly TimeSpan DisposeWaitForLoad = TimeSpan.FromSeconds(5);

    private readonly ModelOptions<TModel> _options;
    private readonly ModelCacheMetrics _metrics;
    private readonly StackRegionCounter _hits = new();
    private readonly bool _trackHits;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly IDisposable? _changeSubscription;
    private readonly LoadHistory _history;
    private readonly ServingTimers _timers;
    private readonly ServingChanges<TModel> _changes;
    private readonly LoadStepHost<TModel> _steps;
    private readonly LoadRunner<TModel> _loads;
    private readonly LoadRequests<TModel> _requests;

    // What serves (the hit path reads it), owned by _changes.
    private readonly ModelSlot<TModel> _slot;

    // Set by every hit and cleared by the idle timer: read first and written only when clear, so after the first
    // hit of a timer period concurrent hits only read it (the line stays shared in every core's cache).
    private bool _used;

    // 1 once a DisposeAsync has started waiting for the loads to end: a second DisposeAsync returns at once.
    private int _disposeWaitStarted;

    // Set when a provider owns the cache: its own DisposeAsync does not wait for load threads, the provider waits for
    // every cache's at once, under one deadline (the container also disposes it, as a keyed singleton).
    private volatile bool _hasOwner;

    /// <summary>Creates a cache for the model <paramref name="name"/>.</summary>
    /// <param name="name">The model's name, used in logs, metrics and errors.</param>
    /// <param name="options">The model's settings; they are validated now, and a copy is taken (later changes to <paramref name="options"/> change nothing).</param>
    /// <param name="timeProvider">The clock for time-to-live, idle timeout, retries and load timeouts; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where logs go; none by default.</param>
    /// <exception cref="ArgumentException">The options are not valid; the message names each field.</exception>
    public ModelCache(string name, ModelOptions<TModel> options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : this(name, options, timeProvider ?? TimeProvider.System, loggerFactory ?? NullLoggerFactory.Instance, ModelCacheMetrics.Shared, ModelLoadLimiter.Unlimited)
    {
    }

    // budget: the provider's or the template's, if any. owner and templateName: for a model made from a template
    // (AddModelTemplate), the provider (told if its first load fails) and the template.
    internal ModelCache(string name, ModelOptions<TModel> options, TimeProvider timeProvider, ILoggerFactory loggerFactory, ModelCacheMetrics metrics, ModelLoadLimiter loadLimiter, MemoryBudget? budget = null, IModelCacheOwner? owner = null, string? templateName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(loggerFactory);

        string[] problems = [.. options.Validate(name)];
        if (problems.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        // Read once into a copy nobody else holds: the settings that were validated are the ones used.
        ModelOptions<TModel> settings = options.Snapshot();
        ILogger logger = loggerFactory.CreateLogger("ModelCaching.ModelCache");
        Name = name;
        TemplateName = templateName;
        _options = settings;
        _metrics = metrics;
        _trackHits = settings.TrackHits;

        // A source (with a loader) or a factory: where each generation comes from.
        IModelSource? source = settings.Factory is null ? settings.ResolveSource(timeProvider, loggerFactory)! : null;
        SourceDescription = settings.Factory?.Description ?? source!.Description;
        _history = new LoadHistory(settings.HistoryLength);
        var failSafe = new FailSafePolicy(timeProvider, settings.FailureCooldown, settings.RetryBaseDelay, settings.RetryMaxDelay);

        // The slot is made with its timers; the timers drive the misses' part, made last (it needs the loads).
        _timers = new ServingTimers(timeProvider, settings);
        _changes = new ServingChanges<TModel>(this, settings, timeProvider, logger, metrics, _history, failSafe, _timers, budget, _hits, owner);
        _slot = _changes.Slot;
        _steps = new LoadStepHost<TModel>(settings, source, failSafe, _changes, timeProvider, logger, metrics);
        _loads = new LoadRunner<TModel>(_changes, _steps, failSafe, loadLimiter, settings.LoadTimeout, _lifetime.Token, timeProvider, logger, metrics);
        _requests = new LoadRequests<TModel>(_loads, _changes, _timers);
        _timers.Drive(_requests);
        if (settings.ReloadOnChange)
        {
            _changeSubscription = settings.Factory is { } factory
                ? ChangeToken.OnChange(factory.GetChangeToken, _loads.OnSourceChanged)
                : ChangeToken.OnChange(source!.GetChangeToken, _loads.OnSourceChanged);
        }

        _metrics.Register(this);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public Type ModelType => typeof(TModel);

    /// <inheritdoc />
    public string SourceDescription { get; }

    /// <summary>The template this model was made from (<c>AddModelTemplate</c>), or <see langword="null"/> for a model registered by name or made on its own.</summary>
    public string? TemplateName { get; }

    /// <summary>A copy of the settings the cache was built with; changing it changes nothing.</summary>
    public ModelOptions<TModel> Options => _options.Snapshot();

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

    bool ModelCacheMetrics.IMetricsSource.Exists => _steps.SourceFound || _slot.GenerationCount > 0;

    long ModelCacheMetrics.IMetricsSource.HitCount => _hits.Sum();

    long ModelCacheMetrics.IMetricsSource.MissCount => _requests.Misses;

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
        if (current is not null && current.TryAcquire())
        {
            MarkUsed();
            return new ModelLease<TModel>(current);
        }

        return AcquireOnMiss();
    }

    /// <inheritdoc />
    public ValueTask<ModelLease<TModel>> AcquireAsync(CancellationToken cancellationToken = default)
    {
        ModelGeneration<TModel>? current = _slot.Serving;
        if (current is not null && current.TryAcquire())
        {
            MarkUsed();
            return new ValueTask<ModelLease<TModel>>(new ModelLease<TModel>(current));
        }

        return AcquireOnMissAsync(cancellationToken);
    }

    // The misses: nothing serves (or it was disposed under the caller): wait for the shared load (LoadRequests).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private TModel GetModelOnMiss() => _requests.WaitForGeneration().Model;

    private async ValueTask<TModel> GetModelOnMissAsync(CancellationToken cancellationToken) =>
        (await _requests.WaitForGenerationAsync(cancellationToken).ConfigureAwait(false)).Model;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ModelLease<TModel> AcquireOnMiss()
    {
        while (true)
        {
            ModelGeneration<TModel> generation = _slot.Serving ?? _requests.WaitForGeneration();
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
            if (current is not null)
            {
                if (current.TryAcquire())
                {
                    MarkUsed();
                    return new ModelLease<TModel>(current);
                }

                // Swapped out and disposed between the read and the acquire: read the new one.
                continue;
            }

            ModelGeneration<TModel> generation = await _requests.WaitForGenerationAsync(cancellationToken).ConfigureAwait(false);
            if (generation.TryAcquire())
            {
                return new ModelLease<TModel>(generation);
            }
        }
    }

    /// <inheritdoc />
    public async Task<ModelVersion> ReloadAsync(CancellationToken cancellationToken = default) =>
        (await _loads.Request(ModelLoadReason.Explicit).WaitAsync(cancellationToken).ConfigureAwait(false)).Version;

    /// <inheritdoc />
    public void Invalidate() => _changes.Unload("invalidated");

    /// <inheritdoc />
    public Task<ModelVersion> RollbackAsync(CancellationToken cancellationToken = default) => _loads.RollbackAsync(cancellationToken);

    /// <inheritdoc />
    public IReadOnlyList<ModelLoadRecord> GetHistory() => _history.Snapshot();

    /// <inheritdoc />
    public ModelCacheStatistics GetStatistics()
    {
        string? abandoned = _loads.Coordinator.AbandonedMessage();
        (SlotState state, ModelGeneration<TModel>? serving, string? lastError) = _slot.Read();
        return new ModelCacheStatistics
        {
            Hits = _hits.Sum(),
            Misses = _requests.Misses,
            Loads = _history.Loads,
            LoadFailures = _history.Failures,
            Unloads = _history.Unloads,
            ActiveLeases = _slot.ActiveLeases,
            RetiredGenerations = _slot.RetiredCount,
            AbandonedLoadRunning = abandoned is not null,
            State = state.ToPublic(),
            Version = serving?.Version,
            LastError = abandoned ?? lastError,
        };
    }

    /// <summary>Disposes the serving generation (once its leases end) and stops timers and watchers.</summary>
    public void Dispose() => DisposeCore();

    /// <summary>
    /// Like <see cref="Dispose"/>, then waits (up to 5 seconds in total) for the loads in progress to end, so that their
    /// models are disposed too. A load step that ignores cancellation does not hold disposal up longer; a second call
    /// returns at once. A cache made by <c>AddModelCache()</c> does not wait here: its provider waits for every cache's
    /// loads at once, under one bound (docs/reload-and-fail-safe.md).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        DisposeCore();
        if (_hasOwner || Interlocked.Exchange(ref _disposeWaitStarted, 1) != 0 || _loads.Ended.IsCompleted)
        {
            return;
        }

        // A cancelled step usually ends at once and its model is disposed with it; one that ignores its token is given
        // a bounded time (real time: it is a real thread), then left to end on its own.
        await Task.WhenAny(_loads.Ended, Task.Delay(DisposeWaitForLoad)).ConfigureAwait(false);
    }

    void IOwnedModelCache.AttachOwner() => _hasOwner = true;

    Task IOwnedModelCache.CloseAsync()
    {
        DisposeCore();
        return _loads.Ended;
    }

    /// <summary>
    /// Applies the load policy when the application starts (the host calls it for models registered with
    /// <c>AddModelCache()</c>): an <see cref="ModelLoadPolicy.Eager"/> model loads now, and the task ends when it is ready;
    /// <see cref="ModelLoadPolicy.Lazy"/> and <see cref="ModelLoadPolicy.Expiring"/> models load on first use, and the
    /// task is already complete. The token ends only this wait, not the load.
    /// </summary>
    /// <exception cref="ModelLoadException">The eager load failed; the cache retries in the background.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default) =>
        _options.Policy != ModelLoadPolicy.Eager || _slot.Serving is not null
            ? Task.CompletedTask
            : _loads.Request(ModelLoadReason.Startup).WaitAsync(cancellationToken);

    /// <inheritdoc />
    public override string ToString() => $"ModelCache<{typeof(TModel).Name}> '{Name}' ({State}, {_slot.Serving?.Version.Id ?? "no version"})";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void MarkUsed()
    {
        if (!_used)
        {
            _used = true;
        }

        if (_trackHits)
        {
            _hits.Increment();
        }
    }

    /// <summary>At an idle tick (<see cref="LoadRequests{TModel}"/>): whether a hit marked the model used since the last tick; clears the mark.</summary>
    internal bool TakeUsed()
    {
        bool used = _used;
        _used = false;
        return used;
    }

    private void DisposeCore()
    {
        if (!_slot.Close())
        {
            return;
        }

        _timers.Dispose();
        _loads.Close();
        _changeSubscription?.Dispose();
        _steps.DisposeOwnedSource();

        _lifetime.Cancel();
        _slot.ReleaseAll();
        _changes.Budget?.Leave(_changes.Member!);
        _metrics.Unregister(this);
    }
}
