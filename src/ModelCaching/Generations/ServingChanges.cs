using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;
using ModelCaching.Expiration;
using ModelCaching.FailSafe;
using ModelCaching.Loading;

namespace ModelCaching.Generations;

/// <summary>
/// What a change of the serving slot means to the rest of the world: each change a load, a rollback, an unload or an
/// eviction makes to the <see cref="ModelSlot{TModel}"/> (which it owns), followed by its history record, metrics,
/// logs, the budget's news and the cache's <c>Reloaded</c>/<c>Unloaded</c> events. It is also the cache's part in its
/// memory budget: it joins it (<see cref="Member"/>) and unloads for it (<see cref="IBudgetedCache.Evict"/>).
/// </summary>
/// <remarks>
/// Made before the loads (they apply their outcome here); it calls no load, no coordinator and no cache method.
/// <see cref="Cache"/> is the sender of the events and the metrics' source, nothing more.
/// </remarks>
internal sealed class ServingChanges<TModel> : LoadHistory, IBudgetedCache, IGenerationContext, IServingTimers
    where TModel : class
{
    internal const string MemoryBudgetReason = "memory_budget";

    // The clock, log, metrics, budget and owner (told when a template's model fails its first load; none for a model
    // registered by name): shared by a template's models.
    private readonly ServingServices _services;
    private readonly FailSafePolicy _failSafe;

    // The Reloaded and Unloaded handlers, made at the first one subscribed (most of a template's models have none).
    private ServingEvents? _events;

    // The timers (retry, refresh-ahead, idle), which the slot arms through this: made with the cache when its options ask
    // for a refresh or an idle unload, else at the first retry armed (most of a template's models never fail).
    private ServingTimers? _timers;

    // observer: the model's source, when it asks to be told each record (ILoadRecordObserver).
    public ServingChanges(ModelCache<TModel> cache, ModelOptions<TModel> settings, ServingServices services, ILoadRecordObserver? observer, FailSafePolicy failSafe, StackRegionCounter hits)
        : base(settings.HistoryLength, observer)
    {
        Cache = cache;
        _services = services;
        _failSafe = failSafe;
        Member = services.Budget?.Join(this, hits);
        _timers = settings.TimeToLive is not null || settings.IdleTimeout is not null ? new ServingTimers(services.TimeProvider, settings) : null;

        Slot = new ModelSlot<TModel>(this, cache);
    }

    public event EventHandler<ModelReloadedEventArgs>? Reloaded
    {
        add => Events().AddReloaded(value);
        remove => Volatile.Read(ref _events)?.RemoveReloaded(value);
    }

    public event EventHandler<ModelUnloadedEventArgs>? Unloaded
    {
        add => Events().AddUnloaded(value);
        remove => Volatile.Read(ref _events)?.RemoveUnloaded(value);
    }

    /// <summary>The cache whose slot this is: the events' sender and the metrics' source.</summary>
    public ModelCache<TModel> Cache { get; }

    public ModelSlot<TModel> Slot { get; }

    /// <summary>The cache's part in its budget (the budget reads what the slot publishes there), if it has one.</summary>
    public BudgetMember? Member { get; }

    public MemoryBudget? Budget => _services.Budget;

    // What the cache's other parts read here rather than keep a field of their own each (issue 18: what a known name costs).
    public ServingServices Services => _services;

    public TimeProvider TimeProvider => _services.TimeProvider;

    public ILogger Logger => _services.Logger;

    public ModelCacheMetrics Metrics => _services.Metrics;

    public FailSafePolicy FailSafe => _failSafe;

    /// <summary>The timers, once made (with the cache, or at the first retry armed); the loads name themselves to them (<see cref="ServingTimers.Drive"/>).</summary>
    public ServingTimers? Timers => Volatile.Read(ref _timers);

    /// <summary>The loads and unloads recorded (<see cref="IModelCache.GetHistory"/>, the statistics).</summary>
    public LoadHistory History => this; // The base class: one object fewer a name (LoadHistory's remarks).

    string IBudgetedCache.Name => Cache.Name;

    string IGenerationContext.ModelName => Cache.Name;

    string IGenerationContext.SourceDescription => Cache.SourceDescription;

    // A template's model's versions keep its factory, made now, rather than its description (made when read).
    object IGenerationContext.VersionSource => Cache.Origin is TemplateModelFactory<TModel> ? Cache.Factory! : Cache.SourceDescription;

    ModelOptions IGenerationContext.Options => Cache.Settings;

    IServingTimers IGenerationContext.Timers => this;

    // Pinned and eager models are never evicted: their member keeps the standing it starts with (Kept).
    BudgetMember? IGenerationContext.SlotMember => Cache.Settings is { Pinned: false, Policy: not ModelLoadPolicy.Eager } ? Member : null;

    /// <summary>The failure of a template's model that never loaded and was not kept.</summary>
    public ModelLoadException? DroppedFailure => _failSafe.DroppedFailure;

    /// <summary>What a caller of a disposed cache gets: the failure of a dropped template model, or <see cref="ObjectDisposedException"/>.</summary>
    public Exception DisposedError()
    {
        // A template's model dropped after its first load failed: a caller that looked it up just before gets the
        // failure everyone got, not an ObjectDisposedException about an object it never owned.
        if (DroppedFailure is { } failure)
        {
            return failure.WithCause(failure.Cause + " (the model was not kept; ask for it again to retry)");
        }

        return new ObjectDisposedException($"ModelCache '{Cache.Name}'", $"The model cache '{Cache.Name}' was disposed.");
    }

    /// <summary>A load or a rollback: <paramref name="generation"/> serves; what it replaced is kept or retired.</summary>
    public void Swap(ModelGeneration<TModel> generation, ModelLoadReason reason, long started, Activity? activity)
    {
        if (!Slot.TrySwap(generation, reason == ModelLoadReason.Rollback, out SlotSwap<TModel> swap))
        {
            throw DisposedError();
        }

        ModelGeneration<TModel>? previous = swap.Previous;
        string? detail = reason == ModelLoadReason.Rollback && previous is not null ? $"rolled back from version {previous.Version.Id}" : null;
        History.Add(new ModelLoadRecord(TimeProvider.GetUtcNow(), reason, ModelLoadOutcome.Success, generation.Version.Id, null) { Detail = detail });
        Budget?.OnServing();
        Slot.Retire(swap);
        long ended = TimeProvider.GetTimestamp();
        Metrics.RecordLoad(Cache, reason, ModelLoadOutcome.Success, started, ended, TimeProvider, null);
        activity?.SetTag(ModelCacheMetrics.ModelVersionTag, generation.Version.Id);
        activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "success");
        Log.Loaded(Logger, Cache.Name, generation.Version.Id, generation.Version.Generation, Cache.SourceDescription, TimeProvider.GetElapsedTime(started, ended).TotalMilliseconds, reason);
        if (reason == ModelLoadReason.Rollback && previous is not null)
        {
            Log.RolledBack(Logger, Cache.Name, previous.Version.Id, generation.Version.Id);
        }

        Raise(Volatile.Read(ref _events)?.Reloaded, new ModelReloadedEventArgs(Cache.Name, previous?.Version, generation.Version, reason));
    }

    /// <summary>A load found the serving content unchanged (a degraded model recovers).</summary>
    public ModelGeneration<TModel> Unchanged(ModelGeneration<TModel> current, ModelLoadReason reason, long started, Activity? activity)
    {
        bool recovered = Slot.OnUnchanged(current);
        History.Add(new ModelLoadRecord(TimeProvider.GetUtcNow(), reason, ModelLoadOutcome.Unchanged, current.Version.Id, null));
        Metrics.RecordLoad(Cache, reason, ModelLoadOutcome.Unchanged, started, TimeProvider.GetTimestamp(), TimeProvider, null);
        activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "unchanged");
        Log.Unchanged(Logger, Cache.Name, Cache.SourceDescription, current.Version.Id, reason);
        if (recovered)
        {
            Log.Recovered(Logger, Cache.Name, Cache.SourceDescription, current.Version.Id);
        }

        return current;
    }

    /// <summary>An explicit reload that would have undone a rollback was refused: recorded with its caller; nothing else changes.</summary>
    public void Refused(ModelReloadRefusedException refused, string? requestedBy)
    {
        History.Add(new ModelLoadRecord(TimeProvider.GetUtcNow(), ModelLoadReason.Explicit, ModelLoadOutcome.Refused, refused.RolledBackVersionId, refused.Message) { RequestedBy = requestedBy });
        Log.ReloadRefused(Logger, Cache.Name, requestedBy ?? "an unnamed caller", refused.RolledBackVersionId, refused.ServingVersionId);
    }

    /// <summary>A load failed (or skipped known-bad content): the last good model keeps serving, a retry is armed.</summary>
    public void Failed(ModelLoadException failure, LoadAttempt<TModel> attempt, ModelLoadOutcome outcome, string? versionId, Activity? activity)
    {
        ModelLoadReason reason = attempt.Reason;

        // Content known to be bad is not retried on a timer: only a change (or an explicit reload) can fix it.
        // A template's model that never served is dropped below: no retry timer for it (one firing before the drop's
        // disposal ran would load the made-up name again and take the template's rate-limited log line).
        bool dropped = _services.Owner is not null && Slot.GenerationCount == 0;
        ModelGeneration<TModel>? serving = Slot.OnLoadFailed(failure, retry: outcome != ModelLoadOutcome.Skipped && !dropped, out TimeSpan? retryIn);
        History.Add(new ModelLoadRecord(TimeProvider.GetUtcNow(), reason, outcome, versionId, failure.Cause));
        Metrics.RecordLoad(Cache, reason, outcome, attempt.StartedAt, TimeProvider.GetTimestamp(), TimeProvider, outcome == ModelLoadOutcome.Failure ? failure : null);
        activity?.SetStatus(ActivityStatusCode.Error, failure.Cause);
        activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, ModelCacheMetrics.OutcomeTag(outcome));
        if (outcome == ModelLoadOutcome.Skipped)
        {
            return;
        }

        if (serving is not null)
        {
            Log.ReloadFailedServingLastGood(Logger, failure, Cache.Name, Cache.SourceDescription, reason, serving.Version.Id, serving.Version.Generation);
        }
        else if (dropped)
        {
            // A template's model that never loaded (its source does not exist, say) is not kept: its owner forgets it
            // now, logs the failure (rate-limited per template) and disposes it once its callers have their failure.
            _failSafe.Drop(failure);
            _services.Owner!.OnFirstLoadFailed(Cache, failure, attempt.Completion.Task);
            return;
        }
        else
        {
            Log.LoadFailed(Logger, failure, Cache.Name, Cache.SourceDescription, reason);
        }

        if (retryIn is { } retryDelay)
        {
            Log.RetryScheduled(Logger, Cache.Name, retryDelay, _failSafe.ConsecutiveFailures);
        }
    }

    /// <summary>Unloads the serving generation (idle, <c>Invalidate</c>, or <paramref name="evict"/> for the budget).</summary>
    /// <returns>Whether a generation was unloaded.</returns>
    public bool Unload(string reason, bool evict = false)
    {
        // An eviction re-checks what the budget saw without the slot's lock: Ready, or Degraded (which the budget evicts
        // only as a last resort); a model unloading first for a swap stays.
        ModelGeneration<TModel>? unloaded = Slot.Unload(evict);
        if (unloaded is null)
        {
            return false;
        }

        History.CountUnload();
        Metrics.RecordUnload(Cache, reason);
        Log.Unloaded(Logger, Cache.Name, unloaded.Version.Id, reason);
        Raise(Volatile.Read(ref _events)?.Unloaded, new ModelUnloadedEventArgs(Cache.Name, unloaded.Version, reason));
        return true;
    }

    bool IBudgetedCache.Evict()
    {
        if (Unload(MemoryBudgetReason, evict: true))
        {
            return true;
        }

        // The budget acted on a standing that changed meanwhile (the model is loading first, degraded, disposed): publish
        // what holds now, so it does not choose this model again for nothing.
        Slot.PublishStanding();
        return false;
    }

    // The slot arms the timers through these, under its lock (IServingTimers); only a retry makes them when there are none.
    void IServingTimers.OnLoaded() => Timers?.OnLoaded();

    void IServingTimers.ArmRefresh() => Timers?.ArmRefresh();

    void IServingTimers.ArmRetry(TimeSpan delay) => (Timers ?? MakeTimers()).ArmRetry(delay);

    void IServingTimers.OnUnloaded() => Timers?.OnUnloaded();

    // The cache is whole by now (a load failed): its loads are what the timers drive. Disposal disposes the timers
    // after the slot is closed, and a closed slot arms no retry, so timers made here are always disposed.
    private ServingTimers MakeTimers()
    {
        var made = new ServingTimers(TimeProvider, Cache.Settings, Cache.Loads);
        return Interlocked.CompareExchange(ref _timers, made, null) ?? made;
    }

    private ServingEvents Events() =>
        Volatile.Read(ref _events) ?? Interlocked.CompareExchange(ref _events, new ServingEvents(), null) ?? _events!;

    // Raises an event (rare: once per load or unload) without letting a handler's exception reach the load.
    private void Raise<TArgs>(EventHandler<TArgs>? handler, TArgs args)
    {
        try
        {
            handler?.Invoke(Cache, args);
        }
        catch (Exception ex)
        {
            Log.ReloadEventHandlerFailed(Logger, ex, Cache.Name);
        }
    }
}
