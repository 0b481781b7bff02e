using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;
using ModelCaching.Expiration;
using ModelCaching.FailSafe;
using ModelCaching.Generations;
using ModelCaching.Loading;

namespace ModelCaching;

// The cache's lifetime: it makes and wires its parts, applies its load policy at start-up, and disposes (the loads
// stopped and waited for within one bound, the timers, the watcher, its source, its generations, its budget membership).
public sealed partial class ModelCache<TModel>
{
    // How long DisposeAsync waits, in total, for running loads' threads to end after cancelling them.
    internal static readonly TimeSpan DisposeWaitForLoad = TimeSpan.FromSeconds(5);

    // What the loads keep between them (a runner lives only while it has work; issue 18): the IModelSource (with the
    // settings' loader), IModelFactory<TModel> or a template's TemplateModelFactory (with the name; the load slots are in ServingServices), the last size (the next estimate), the misses, and
    // whether the source ever returned content (metrics may then name the model; a template's made-up name is not).
    private readonly object _origin;
    private long _lastSize;
    private long _misses;
    private volatile bool _sourceFound;

    // The loads' runner while a load runs, is queued or waits for an abandoned thread, or for good once disposal closed it.
    private LoadRunner<TModel>? _runner;

    // Above 0 when a provider owns the cache (its creation order there): its own DisposeAsync does not wait for load threads,
    // the provider waits for every cache's at once, under one deadline (the container also disposes it, as a keyed singleton).
    // -1 once a DisposeAsync of a cache nobody owns has started waiting for the loads: a second DisposeAsync returns at once.
    private long _ownerOrder;

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
    // (AddModelTemplate), the provider (told if its first load fails) and the template; shared: the template's snapshot of
    // settings equal to options but for the factory's name (TemplateSettings), read as they are; the factory is options';
    // services: the template's last model's ServingServices, shared when they hold the same clock, log, metrics, budget, owner, limiter, template.
    internal ModelCache(string name, ModelOptions<TModel> options, TimeProvider timeProvider, ILoggerFactory loggerFactory, ModelCacheMetrics metrics, ModelLoadLimiter loadLimiter, MemoryBudget? budget = null, IModelCacheOwner? owner = null, string? templateName = null, ModelOptions<TModel>? shared = null, ServingServices? services = null)
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

        // Read once into a copy nobody else changes: the settings that were validated are the ones used.
        ModelOptions<TModel> settings = shared ?? options.Snapshot();
        IModelFactory<TModel>? factory = options.Factory;
        services = ServingServices.For(services, timeProvider, loggerFactory, metrics, budget, owner, loadLimiter, templateName);
        Name = name;
        _options = settings;
        _trackHits = settings.TrackHits;

        // A source (with a loader) or a factory: where each generation comes from.
        IModelSource? source = factory is null ? settings.ResolveSource(timeProvider, loggerFactory)! : null;
        var failSafe = new FailSafePolicy(timeProvider, settings.FailureCooldown, settings.RetryBaseDelay, settings.RetryMaxDelay);

        // The slot is made with its timers (when the options ask for any); they drive the loads, made last.
        _origin = (factory as NamedModelFactory<TModel>)?.Template ?? (object?)factory ?? source!;
        _changes = new ServingChanges<TModel>(this, settings, services, source as ILoadRecordObserver, failSafe, _hits);
        _changes.Timers?.Drive(this);

        SourceWatch<TModel>.Start(this, source, factory);

        metrics.Register(this);
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
        Task ended = LoadRunner<TModel>.Close(this).Ended;
        if (Interlocked.CompareExchange(ref _ownerOrder, -1, 0) != 0 || ended.IsCompleted)
        {
            return;
        }

        // A cancelled step usually ends at once and its model is disposed with it; one that ignores its token is given
        // a bounded time (real time: it is a real thread), then left to end on its own.
        await Task.WhenAny(ended, Task.Delay(DisposeWaitForLoad)).ConfigureAwait(false);
    }

    long IOwnedModelCache.OwnerOrder => Math.Max(Volatile.Read(ref _ownerOrder), 0);

    void IOwnedModelCache.AttachOwner(long order) => Volatile.Write(ref _ownerOrder, order);

    Task IOwnedModelCache.CloseAsync()
    {
        DisposeCore();
        return LoadRunner<TModel>.Close(this).Ended;
    }

    /// <summary>
    /// Applies the load policy when the application starts (the host calls it for models registered with
    /// <c>AddModelCache()</c>): an <see cref="ModelLoadPolicy.Eager"/> model loads now, and the task ends when it is ready;
    /// <see cref="ModelLoadPolicy.Lazy"/> and <see cref="ModelLoadPolicy.Expiring"/> models load on first use, and the
    /// task is already complete. The token ends only this wait, not the load.
    /// </summary>
    /// <exception cref="ModelLoadException">The eager load failed; the cache retries in the background.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default) =>
        _options.Policy != ModelLoadPolicy.Eager || _serving is not null
            ? Task.CompletedTask
            : LoadRunner<TModel>.Request(this, ModelLoadReason.Startup).WaitAsync(cancellationToken);

    private void DisposeCore()
    {
        if (!_changes.Slot.Close())
        {
            return;
        }

        _changes.Timers?.Dispose();
        LoadRunner<TModel> loads = LoadRunner<TModel>.Close(this);
        SourceWatch<TModel>.Stop(this);
        LoadRunner<TModel>.DisposeOwnedSource(this);
        loads.AbandonAll();
        _changes.Slot.ReleaseAll();
        _changes.Budget?.Leave(_changes.Member!);
        _changes.Metrics.Unregister(this);
    }

    // For LoadRunner, which keeps nothing between loads: what the loads keep, and the attached runner (LoadRunner.Attached).
    internal object Origin => _origin;

    internal IModelFactory<TModel>? Factory => TemplateModelFactory<TModel>.Of(_origin, Name); // Null for a source.

    internal ModelLoadLimiter Limiter => _changes.Services.Limiter;

    internal ref long LastSize => ref _lastSize;

    internal ref long MissCount => ref _misses;

    internal ref LoadRunner<TModel>? RunnerField => ref _runner;

    internal void OnSourceFound() => _sourceFound = true;

    void ITimedModel.LoadInBackground(ModelLoadReason reason) => LoadRunner<TModel>.StartInBackground(this, reason);

    IdleTickState ITimedModel.CheckIdle() => LoadRunner<TModel>.CheckIdle(this);

    void ITimedModel.UnloadIdle() => _changes.Unload("idle");
}
