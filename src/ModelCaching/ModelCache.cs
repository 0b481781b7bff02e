using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;
using ModelCaching.Diagnostics;
using ModelCaching.Generations;

namespace ModelCaching;

/// <summary>
/// Keeps one model in memory: loads it once (lazily, eagerly or on a time-to-live), serves it without
/// locks or allocations, swaps in new generations atomically, and keeps the last good generation when a
/// new one fails. Usable on its own or through <c>services.AddModelCache()</c>.
/// </summary>
/// <typeparam name="TModel">The model type.</typeparam>
public sealed partial class ModelCache<TModel> : IModelCache<TModel>, IDisposable, IAsyncDisposable, ModelCacheMetrics.IMetricsSource, IEagerLoadable
    where TModel : class
{
    private readonly ModelOptions<TModel> _options;
    private readonly IModelSource _source;
    private readonly IModelLoader<TModel> _loader;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ModelCacheMetrics _metrics;
    private readonly ModelLoadLimiter _loadLimiter;
    private readonly StackRegionCounter _hits = new();
    private readonly bool _trackHits;
    private readonly bool _ownsSource;

    // Set by every hit and cleared by the idle timer: read first and written only when clear, so after the first
    // hit of a timer period concurrent hits only read it (the line stays shared in every core's cache).
    private bool _used;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly IDisposable? _changeSubscription;

    // Guards everything below that is not the hit path. The hit path reads only _current.
    private readonly Lock _gate = new();

    // The serving generation: the only field the hit path reads.
    private volatile ModelGeneration<TModel>? _current;

    private ModelCacheState _state = ModelCacheState.NotLoaded;
    private long _misses;
    private long _loads;
    private long _loadFailures;
    private long _unloads;
    private long _generationCounter;
    private string? _lastError;
    private bool _disposed;

    /// <summary>Creates a cache for the model <paramref name="name"/>.</summary>
    /// <param name="name">The model's name, used in logs, metrics and errors.</param>
    /// <param name="options">The model's settings; they are validated now.</param>
    /// <param name="timeProvider">The clock for time-to-live, idle timeout, retries and load timeouts; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where logs go; none by default.</param>
    /// <exception cref="ArgumentException">The options are not valid; the message names each field.</exception>
    public ModelCache(string name, ModelOptions<TModel> options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : this(name, options, timeProvider ?? TimeProvider.System, loggerFactory ?? NullLoggerFactory.Instance, ModelCacheMetrics.Shared, ModelLoadLimiter.Unlimited)
    {
    }

    internal ModelCache(string name, ModelOptions<TModel> options, TimeProvider timeProvider, ILoggerFactory loggerFactory, ModelCacheMetrics metrics, ModelLoadLimiter loadLimiter)
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

        Name = name;
        _options = options;
        _source = options.ResolveSource(timeProvider, loggerFactory)!;
        _ownsSource = options.Source is null || options.OwnsSource;
        _loader = options.Loader!;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger("ModelCaching.ModelCache");
        _metrics = metrics;
        _loadLimiter = loadLimiter;
        _trackHits = options.TrackHits;
        _onGenerationDisposed = OnGenerationDisposed;
        _history = new Queue<ModelLoadRecord>(Math.Min(options.HistoryLength, 64));

        if (options.ReloadOnChange)
        {
            _changeSubscription = ChangeToken.OnChange(_source.GetChangeToken, OnSourceChanged);
        }

        _metrics.Register(this);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public Type ModelType => typeof(TModel);

    /// <inheritdoc />
    public string SourceDescription => _source.Description;

    /// <summary>The model's settings.</summary>
    public ModelOptions<TModel> Options => _options;

    /// <inheritdoc />
    public ModelCacheState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <inheritdoc />
    public ModelVersion? Version => _current?.Version;

    /// <inheritdoc />
    public event EventHandler<ModelReloadedEventArgs>? Reloaded;

    /// <inheritdoc />
    public event EventHandler<ModelUnloadedEventArgs>? Unloaded;

    string ModelCacheMetrics.IMetricsSource.Name => Name;

    long ModelCacheMetrics.IMetricsSource.HitCount => _hits.Sum();

    long ModelCacheMetrics.IMetricsSource.MissCount => Interlocked.Read(ref _misses);

    long ModelCacheMetrics.IMetricsSource.ActiveLeaseCount => CountActiveLeases();

    ModelVersion? ModelCacheMetrics.IMetricsSource.CurrentVersion => _current?.Version;

    /// <inheritdoc />
    public TModel GetModel()
    {
        ModelGeneration<TModel>? current = _current;
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
        ModelGeneration<TModel>? current = _current;
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
        ModelGeneration<TModel>? current = _current;
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
        ModelGeneration<TModel>? current = _current;
        if (current is not null && current.TryAcquire())
        {
            MarkUsed();
            return new ValueTask<ModelLease<TModel>>(new ModelLease<TModel>(current));
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
    public ModelCacheStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new ModelCacheStatistics
            {
                Hits = _hits.Sum(),
                Misses = Interlocked.Read(ref _misses),
                Loads = _loads,
                LoadFailures = _loadFailures,
                Unloads = _unloads,
                ActiveLeases = CountActiveLeases(),
                State = _state,
                Version = _current?.Version,
                LastError = _lastError,
            };
        }
    }

    /// <summary>Disposes the serving generation (once its leases end) and stops timers and watchers.</summary>
    public void Dispose() => DisposeCore();

    /// <summary>
    /// Like <see cref="Dispose"/>, but first waits for a load in progress to end, so that its model is
    /// disposed too.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Task? inflight;
        lock (_gate)
        {
            inflight = _inflight;
        }

        DisposeCore();
        if (inflight is not null)
        {
            try
            {
                await inflight.ConfigureAwait(false);
            }
            catch
            {
                // The load was cancelled by the disposal or failed: either way its model is not serving.
            }
        }
    }

    ModelOptions IEagerLoadable.Settings => _options;

    Task IEagerLoadable.LoadAtStartupAsync(CancellationToken cancellationToken) =>
        _current is not null ? Task.CompletedTask : RequestLoad(ModelLoadReason.Startup).WaitAsync(cancellationToken);

    /// <inheritdoc />
    public override string ToString() => $"ModelCache<{typeof(TModel).Name}> '{Name}' ({State}, {_current?.Version.Id ?? "no version"})";

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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private TModel GetModelOnMiss()
    {
        // A synchronous API whose model is not loaded has to wait for the load; this is the one blocking
        // wait in the library. Eager models and GetModelAsync never get here on a thread that matters.
        ModelGeneration<TModel> generation = WaitForGenerationAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return generation.Model;
    }

    private async ValueTask<TModel> GetModelOnMissAsync(CancellationToken cancellationToken)
    {
        ModelGeneration<TModel> generation = await WaitForGenerationAsync(cancellationToken).ConfigureAwait(false);
        return generation.Model;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ModelLease<TModel> AcquireOnMiss() => AcquireOnMissAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    private async ValueTask<ModelLease<TModel>> AcquireOnMissAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ModelGeneration<TModel>? current = _current;
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

            ModelGeneration<TModel> generation = await WaitForGenerationAsync(cancellationToken).ConfigureAwait(false);
            if (generation.TryAcquire())
            {
                return new ModelLease<TModel>(generation);
            }
        }
    }

    /// <summary>Counts a miss and waits for the shared load; the token ends only this caller's wait.</summary>
    private async ValueTask<ModelGeneration<TModel>> WaitForGenerationAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _misses);
        while (true)
        {
            if (_current is { } current)
            {
                return current;
            }

            Task<ModelGeneration<TModel>> load = RequestLoad(ModelLoadReason.FirstUse);
            ModelGeneration<TModel> generation;
            try
            {
                generation = await load.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ModelLoadException) when (_current is not null)
            {
                // The load this caller joined failed, but a model serves anyway (an unload-first swap restored the
                // previous content): serve it rather than fail the request.
                continue;
            }

            if (!generation.IsDisposed)
            {
                return generation;
            }
        }
    }

    private long CountActiveLeases()
    {
        long count = _current?.ActiveLeases ?? 0;
        lock (_gate)
        {
            _retired.RemoveAll(static generation => generation.IsDisposed);
            foreach (ModelGeneration<TModel> generation in _retired)
            {
                count += generation.ActiveLeases;
            }
        }

        return count;
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

    private void ThrowIfDisposedLocked()
    {
        if (_disposed)
        {
            ThrowDisposed();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowDisposed() => throw new ObjectDisposedException($"ModelCache '{Name}'", $"The model cache '{Name}' was disposed.");

    private void DisposeCore()
    {
        TaskCompletionSource<ModelGeneration<TModel>>? followUp;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _state = ModelCacheState.Unloaded;
            followUp = _followUp;
            _followUp = null;
            StopTimersLocked();
        }

        _changeSubscription?.Dispose();
        if (_ownsSource && _source is IDisposable ownedSource)
        {
            ownedSource.Dispose();
        }

        followUp?.TrySetException(new ObjectDisposedException($"ModelCache '{Name}'", $"The model cache '{Name}' was disposed."));
        _lifetime.Cancel();

        ModelGeneration<TModel>? current = Interlocked.Exchange(ref _current, null);
        current?.Retire();
        ModelGeneration<TModel>? kept;
        lock (_gate)
        {
            kept = _keptGeneration;
            _keptGeneration = null;
        }

        kept?.Retire();
        RetireDrainingNow();
        _metrics.Unregister(this);
    }
}
