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
/// This class is the front: the hit path, the public API, events and disposal. The work is done by its parts:
/// <see cref="LoadCoordinator{TModel}"/> (single flight), <see cref="LoadPipeline{TModel}"/> (fetch → verify → load →
/// validate → warm up), <see cref="FailSafePolicy"/> (cool-down, backoff, known-bad content),
/// <see cref="ModelSlot{TModel}"/> (what serves, the state machine, rollback and retirement), and
/// <see cref="IdleTimer"/> and <see cref="OneShotTimer"/> (expiration and retries). docs/architecture.md maps them.
/// </remarks>
/// <typeparam name="TModel">The model type.</typeparam>
public sealed partial class ModelCache<TModel> : IModelCache<TModel>, IDisposable, IAsyncDisposable, ModelCacheMetrics.IMetricsSource, IPolicyAwareCache, IBudgetedCache, IOwnedModelCache, ITimedModel
    where TModel : class
{
    // How long DisposeAsync waits, in total, for running loads' threads to end after cancelling them.
    internal static readonly TimeSpan DisposeWaitForLoad = TimeSpan.FromSeconds(5);

    private readonly ModelOptions<TModel> _options;
    // A source (with a loader) or a factory: where each generation comes from.
    private readonly IModelSource? _source;
    private readonly IModelFactory<TModel>? _factory;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ModelCacheMetrics _metrics;
    private readonly StackRegionCounter _hits = new();
    private readonly bool _trackHits;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly IDisposable? _changeSubscription;
    private readonly LoadCoordinator<TModel> _coordinator;
    private readonly LoadPipeline<TModel> _pipeline;
    private readonly LoadHistory _history;
    private readonly FailSafePolicy _failSafe;
    private readonly ServingTimers _timers;

    // What serves, in which state, and what a swap left behind: the only place either changes.
    private readonly ModelSlot<TModel> _slot;

    // The memory budget the model counts against (a provider's or a template's), if any.
    private readonly MemoryBudget? _budget;

    // Told when a load fails and the cache never served: a template's model whose source does not exist is not kept.
    private readonly Action<ModelCache<TModel>>? _onNeverServedFailure;

    // Set by every hit and cleared by the idle timer: read first and written only when clear, so after the first
    // hit of a timer period concurrent hits only read it (the line stays shared in every core's cache).
    private bool _used;
    private long _misses;

    // Set when a template's model is dropped after its first load failed, before it disposes itself.
    private ModelLoadException? _droppedFailure;

    // Completes when the load threads that were running at disposal have ended (maybe never: a hung callback).
    private readonly TaskCompletionSource _loadsEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // 1 once a DisposeAsync has started waiting for _loadsEnded: a second DisposeAsync returns at once.
    private int _disposeWaitStarted;

    // Set once the source returns content: the model exists, and metrics may name it (a template's made-up name is not).
    private volatile bool _sourceFound;

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

    // templateName: the template that made the model (AddModelTemplate), if any.
    internal ModelCache(string name, ModelOptions<TModel> options, TimeProvider timeProvider, ILoggerFactory loggerFactory, ModelCacheMetrics metrics, ModelLoadLimiter loadLimiter, MemoryBudget? budget = null, Action<ModelCache<TModel>>? onNeverServedFailure = null, string? templateName = null)
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
        Name = name;
        _options = settings;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger("ModelCaching.ModelCache");
        _metrics = metrics;
        _trackHits = settings.TrackHits;
        _factory = settings.Factory;
        _source = _factory is null ? settings.ResolveSource(timeProvider, loggerFactory)! : null;
        SourceDescription = _factory?.Description ?? _source!.Description;
        OwnsSource = _source is not null && (settings.Source is null || settings.OwnsSource);
        _history = new LoadHistory(settings.HistoryLength);
        _failSafe = new FailSafePolicy(timeProvider, settings.FailureCooldown, settings.RetryBaseDelay, settings.RetryMaxDelay);
        _pipeline = new LoadPipeline<TModel>(name, SourceDescription, _source, settings.Loader, _factory, settings, _failSafe, _logger, timeProvider, this);
        _coordinator = new LoadCoordinator<TModel>(name, SourceDescription, loadLimiter, timeProvider, settings.LoadTimeout, _lifetime.Token, this);
        _timers = new ServingTimers(timeProvider, settings, this);
        _member = budget?.Join(this, _hits);

        // Pinned and eager models are never evicted: their member keeps the standing it starts with (Kept).
        _slot = new ModelSlot<TModel>(name, SourceDescription, settings, timeProvider, _logger, _failSafe, _timers, settings.Pinned || settings.Policy == ModelLoadPolicy.Eager ? null : _member);

        if (settings.ReloadOnChange)
        {
            _changeSubscription = _factory is not null
                ? ChangeToken.OnChange(_factory.GetChangeToken, OnSourceChanged)
                : ChangeToken.OnChange(_source!.GetChangeToken, OnSourceChanged);
        }

        _budget = budget;
        _onNeverServedFailure = onNeverServedFailure;
        TemplateName = templateName;
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
    public event EventHandler<ModelReloadedEventArgs>? Reloaded;

    /// <inheritdoc />
    public event EventHandler<ModelUnloadedEventArgs>? Unloaded;

    string ModelCacheMetrics.IMetricsSource.Name => Name;

    bool ModelCacheMetrics.IMetricsSource.Exists => _sourceFound || _slot.GenerationCount > 0;

    long ModelCacheMetrics.IMetricsSource.HitCount => _hits.Sum();

    long ModelCacheMetrics.IMetricsSource.MissCount => Interlocked.Read(ref _misses);

    long ModelCacheMetrics.IMetricsSource.ActiveLeaseCount => _slot.ActiveLeases;

    long ModelCacheMetrics.IMetricsSource.RetiredGenerationCount => _slot.RetiredCount;

    ModelVersion? ModelCacheMetrics.IMetricsSource.CurrentVersion => _slot.Serving?.Version;

    /// <summary>When the model is loaded and whether it expires (<see cref="ModelOptions.Policy"/>).</summary>
    public ModelLoadPolicy Policy => _options.Policy;

    bool IPolicyAwareCache.WaitForStartup => _options.WaitForStartup;

    // Whether the cache built its source (from a path or address) and so disposes it.
    private bool OwnsSource { get; }

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

    /// <inheritdoc />
    public async Task<ModelVersion> ReloadAsync(CancellationToken cancellationToken = default)
    {
        ModelGeneration<TModel> generation = await RequestLoad(ModelLoadReason.Explicit).WaitAsync(cancellationToken).ConfigureAwait(false);
        return generation.Version;
    }

    /// <inheritdoc />
    public void Invalidate() => Unload("invalidated");

    /// <inheritdoc />
    public IReadOnlyList<ModelLoadRecord> GetHistory() => _history.Snapshot();

    /// <inheritdoc />
    public ModelCacheStatistics GetStatistics()
    {
        string? abandoned = _coordinator.AbandonedMessage();
        (SlotState state, ModelGeneration<TModel>? serving, string? lastError) = _slot.Read();
        return new ModelCacheStatistics
        {
            Hits = _hits.Sum(),
            Misses = Interlocked.Read(ref _misses),
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
        if (_hasOwner || Interlocked.Exchange(ref _disposeWaitStarted, 1) != 0 || _loadsEnded.Task.IsCompleted)
        {
            return;
        }

        // A cancelled step usually ends at once and its model is disposed with it; one that ignores its token is given
        // a bounded time (real time: it is a real thread), then left to end on its own.
        await Task.WhenAny(_loadsEnded.Task, Task.Delay(DisposeWaitForLoad)).ConfigureAwait(false);
    }

    void IOwnedModelCache.AttachOwner() => _hasOwner = true;

    ModelLoadException? IOwnedModelCache.DroppedFailure => Volatile.Read(ref _droppedFailure);

    Task IOwnedModelCache.CloseAsync()
    {
        DisposeCore();
        return _loadsEnded.Task;
    }

    /// <summary>
    /// Applies the load policy when the application starts (the host calls it for models registered with
    /// <c>AddModelCache()</c>): an <see cref="ModelLoadPolicy.Eager"/> model loads now, and the task ends when it is ready;
    /// <see cref="ModelLoadPolicy.Lazy"/> and <see cref="ModelLoadPolicy.Expiring"/> models load on first use, and the
    /// task is already complete. The token ends only this wait, not the load.
    /// </summary>
    /// <exception cref="ModelLoadException">The eager load failed; the cache retries in the background.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_options.Policy != ModelLoadPolicy.Eager || _slot.Serving is not null)
        {
            return Task.CompletedTask;
        }

        return RequestLoad(ModelLoadReason.Startup).WaitAsync(cancellationToken);
    }

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

    private void RaiseReloaded(ModelVersion? previous, ModelVersion current, ModelLoadReason reason) =>
        Raise(Reloaded, new ModelReloadedEventArgs(Name, previous, current, reason));

    private void RaiseUnloaded(ModelVersion version, string reason) =>
        Raise(Unloaded, new ModelUnloadedEventArgs(Name, version, reason));

    // Raises an event (rare: once per load or unload) without letting a handler's exception reach the pipeline.
    private void Raise<TArgs>(EventHandler<TArgs>? handler, TArgs args)
    {
        try
        {
            handler?.Invoke(this, args);
        }
        catch (Exception ex)
        {
            Log.ReloadEventHandlerFailed(_logger, ex, Name);
        }
    }

    private void ThrowIfDisposed()
    {
        if (_slot.IsDisposed)
        {
            ThrowDisposed();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowDisposed()
    {
        // A template's model dropped after its first load failed: a caller that looked it up just before gets the
        // failure everyone got, not an ObjectDisposedException about an object it never owned.
        if (Volatile.Read(ref _droppedFailure) is { } failure)
        {
            throw new ModelLoadException(Name, SourceDescription, failure.Cause + " (the model was not kept; ask for it again to retry)", failure.InnerException);
        }

        throw new ObjectDisposedException($"ModelCache '{Name}'", $"The model cache '{Name}' was disposed.");
    }

    private void DisposeCore()
    {
        if (!_slot.Close())
        {
            return;
        }

        _timers.Dispose();
        _coordinator.Close();

        // Taken after Close (no attempt starts later) and before the cancellation (an attempt that ends at once is seen).
        (LoadAttempt<TModel>? inflight, LoadAttempt<TModel>? abandoned) = _coordinator.Snapshot();
        WhenEnded(inflight?.Ended, abandoned?.Ended).ContinueWith(static (_, state) => ((TaskCompletionSource)state!).TrySetResult(), _loadsEnded, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _changeSubscription?.Dispose();
        if (OwnsSource && _source is IDisposable ownedSource)
        {
            ownedSource.Dispose();
        }

        _lifetime.Cancel();
        _slot.ReleaseAll();
        _budget?.Leave(_member!);
        _metrics.Unregister(this);
    }

    private static Task WhenEnded(Task? first, Task? second) => (first, second) switch
    {
        (null, null) => Task.CompletedTask,
        ({ } one, null) => one,
        (null, { } other) => other,
        _ => Task.WhenAll(first!, second!),
    };
}
