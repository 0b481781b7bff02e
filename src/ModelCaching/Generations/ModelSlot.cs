using Microsoft.Extensions.Logging;
using ModelCaching.FailSafe;
using ModelCaching.Loading;

namespace ModelCaching.Generations;

/// <summary>
/// The serving slot of one cache: the generation that serves, the state, the last error, what a swap keeps for a rollback
/// (<see cref="RollbackSlot{TModel}"/>) and the swapped-out generations (<see cref="GenerationRetirement{TModel}"/>). Each
/// change is a <see cref="SlotEvent"/> applied under the slot's lock through <see cref="SlotTransitions"/>, the only place
/// the state changes, with the fail-safe and the timers told at once. The hit path reads the serving generation only, in the
/// cache's own field (<see cref="IServingCell{TModel}"/>). The
/// lock is the slot itself (never handed out beyond its cache's parts): no lock object per model.
/// </summary>
internal sealed partial class ModelSlot<TModel> : IGenerationOwner<TModel>
    where TModel : class
{
    private readonly IGenerationContext _context;
    private readonly RollbackSlot<TModel> _rollback;

    // Made at the first retirement (most models never swap a generation out); its generations' disposals come through here.
    private GenerationRetirement<TModel>? _retirement;
    private long _generationCount;

    // The serving generation, the only thing the hit path reads: kept in the cache itself (IServingCell), written here under
    // the slot's lock.
    private readonly IServingCell<TModel> _cell;

    // Written under the slot's lock, through SlotTransitions only; volatile so the budget and disposal checks may read it without it.
    private volatile SlotState _state = SlotState.NotLoaded;
    private string? _lastError;

    public ModelSlot(string name, string sourceDescription, ModelOptions<TModel> options, TimeProvider timeProvider, ILogger logger, FailSafePolicy failSafe, IServingTimers timers, Budget.BudgetMember? member = null)
        : this(new GenerationContext(name, sourceDescription, options, timeProvider, logger, failSafe, timers, member))
    {
    }

    // context: where the name, description, options, clock, log, fail-safe, timers and budget member are read (the
    // cache's ServingChanges), none kept here. cell: where the serving generation is kept (the cache); one of its own if none.
    public ModelSlot(IGenerationContext context, IServingCell<TModel>? cell = null)
    {
        _context = context;
        _cell = cell ?? new ServingCell<TModel>();
        _rollback = RollbackSlot<TModel>.For(context.Options.RollbackRetention);
    }

    /// <summary>The generation serving now, or <see langword="null"/>.</summary>
    public ModelGeneration<TModel>? Serving => _cell.Serving;

    /// <summary>The state as the cache reports it (a disposed slot says <see cref="ModelCacheState.Unloaded"/>).</summary>
    public ModelCacheState State => _state.ToPublic();

    /// <summary>The state read without the lock (it may be about to change): for tests that walk the transitions.</summary>
    public SlotState UnlockedState => _state;

    public bool IsDisposed => _state == SlotState.Disposed;

    public ModelRollbackRetention RollbackRetention => _rollback.Retention;

    /// <summary>Leases alive on the serving generation and on swapped-out ones.</summary>
    public long ActiveLeases => (_cell.Serving?.ActiveLeases ?? 0) + (Volatile.Read(ref _retirement)?.ActiveLeases ?? 0);

    /// <summary>The state, the generation serving in it and the last load error, read together.</summary>
    public (SlotState State, ModelGeneration<TModel>? Serving, string? LastError) Read()
    {
        lock (this)
        {
            return (_state, _cell.Serving, _lastError);
        }
    }

    /// <summary>A load begins: <see cref="SlotEvent.LoadStarted"/> when nothing serves.</summary>
    /// <returns>Whether the state took the event.</returns>
    public bool OnLoadStarting()
    {
        lock (this)
        {
            return _cell.Serving is null && Fire(SlotEvent.LoadStarted);
        }
    }

    /// <summary>
    /// <see cref="SlotEvent.Swapped"/>: <paramref name="generation"/> serves. What served before goes to the rollback slot
    /// (per the retention) or is to be retired; a rollback forgets what was kept and rejects the version it leaves.
    /// </summary>
    /// <returns><see langword="false"/> when the slot is disposed: <paramref name="generation"/> is retired, nothing changes.</returns>
    public bool TrySwap(ModelGeneration<TModel> generation, bool rollback, out SlotSwap<TModel> result)
    {
        lock (this)
        {
            if (!Fire(SlotEvent.Swapped))
            {
                generation.Retire();
                result = default;
                return false;
            }

            ModelGeneration<TModel>? previous = _cell.Serving;
            SetServing(generation);
            if (rollback && previous?.ContentHash is { } rolledBackFrom)
            {
                // The version rolled back from is not picked up again by automatic reloads until it changes.
                _context.FailSafe.RejectRolledBack(rolledBackFrom, $"version {rolledBackFrom} was rolled back");
            }

            (ModelGeneration<TModel>? retire, ModelGeneration<TModel>? released) = rollback ? (previous, _rollback.Clear())
                : previous is null ? (null, null) : _rollback.Replace(previous);

            _lastError = null;
            _context.FailSafe.OnSuccess();
            _context.FailSafe.OnServed(generation.ContentHash);
            _context.Timers.OnLoaded();
            result = new SlotSwap<TModel>(previous, retire, released);
            return true;
        }
    }

    /// <summary>A load found <paramref name="current"/> unchanged: <see cref="SlotEvent.SourceUnchanged"/> if it serves.</summary>
    /// <returns>Whether the slot recovered (Degraded → Ready).</returns>
    public bool OnUnchanged(ModelGeneration<TModel> current)
    {
        lock (this)
        {
            bool recovered = _cell.Serving == current && Fire(SlotEvent.SourceUnchanged);
            if (recovered)
            {
                _lastError = null;
            }

            _context.FailSafe.OnSuccess();
            _context.Timers.OnLoaded();
            return recovered;
        }
    }

    /// <summary>
    /// A load failed: <see cref="SlotEvent.FailedWhileServing"/> or <see cref="SlotEvent.FailedWithNothingServing"/> (and the
    /// cool-down), and a retry armed unless <paramref name="retry"/> is off (known-bad content waits for a change).
    /// </summary>
    /// <returns>The generation that keeps serving, if any.</returns>
    public ModelGeneration<TModel>? OnLoadFailed(ModelLoadException failure, bool retry, out TimeSpan? retryIn)
    {
        lock (this)
        {
            ModelGeneration<TModel>? serving = _cell.Serving;
            _lastError = failure.Message;
            if (serving is not null)
            {
                Fire(SlotEvent.FailedWhileServing);
            }
            else if (Fire(SlotEvent.FailedWithNothingServing))
            {
                _context.FailSafe.StartCooldown(failure);
            }

            retryIn = retry && !IsDisposed ? _context.FailSafe.NextRetryDelay() : null;
            _context.Timers.OnLoadFailed(retryIn, stillServing: serving is not null);
            return serving;
        }
    }

    /// <summary><see cref="SlotEvent.UnloadedForSwap"/>: an unload-first swap frees <paramref name="current"/> (leases still pin it).</summary>
    /// <returns>It, with the bytes to restore it from (read before it is retired: a disposed generation lets its bytes go),
    /// or <see langword="null"/> when <paramref name="current"/> no longer serves.</returns>
    public (ModelGeneration<TModel> Generation, ModelArtifact? Bytes)? UnloadForSwap(ModelGeneration<TModel> current)
    {
        lock (this)
        {
            if (_cell.Serving != current || !Fire(SlotEvent.UnloadedForSwap))
            {
                return null;
            }

            SetServing(null);
        }

        ModelArtifact? bytes = current.Artifact;
        current.Retire();
        return (current, bytes);
    }

    /// <summary><see cref="SlotEvent.Restored"/>: <paramref name="restored"/> serves if nothing else does meanwhile.</summary>
    /// <returns><see langword="false"/> when refused: <paramref name="restored"/> is retired.</returns>
    public bool TryRestore(ModelGeneration<TModel> restored)
    {
        lock (this)
        {
            if (_cell.Serving is null && Fire(SlotEvent.Restored))
            {
                SetServing(restored);
                return true;
            }
        }

        restored.Retire();
        return false;
    }

    /// <summary>
    /// <see cref="SlotEvent.Unloaded"/> or (<paramref name="evict"/>) <see cref="SlotEvent.Evicted"/>: the serving generation and
    /// the one kept for a rollback are retired (an evicted one drains for <see cref="ModelOptions.EvictionDrainDelay"/> at most).
    /// </summary>
    /// <returns>The unloaded generation, or <see langword="null"/> when nothing was unloaded.</returns>
    public ModelGeneration<TModel>? Unload(bool evict)
    {
        ModelGeneration<TModel>? unloaded;
        lock (this)
        {
            unloaded = _cell.Serving;
            if (unloaded is null || !Fire(evict ? SlotEvent.Evicted : SlotEvent.Unloaded))
            {
                return null;
            }

            SetServing(null);
            _context.Timers.OnUnloaded();
            _context.FailSafe.ResetStreak();
        }

        RetireLater(unloaded, evict ? _context.Options.EvictionDrainDelay : null);
        RetireLater(_rollback.ReleaseGeneration());
        return unloaded;
    }

    /// <summary>Takes what a rollback swaps back in or reloads (<see cref="RollbackSlot{TModel}.TryTake"/>).</summary>
    public bool TryTakeRollback(out ModelGeneration<TModel>? generation, out ModelArtifact? artifact) => _rollback.TryTake(out generation, out artifact);

    /// <summary><see cref="SlotEvent.Disposed"/>; the generations are let go later, by <see cref="ReleaseAll"/>.</summary>
    /// <returns><see langword="false"/> when the slot was disposed already.</returns>
    public bool Close()
    {
        lock (this)
        {
            return Fire(SlotEvent.Disposed);
        }
    }

    // Under the slot's lock: the one place the state changes.
    private bool Fire(SlotEvent happened)
    {
        if (!SlotTransitions.TryNext(_state, happened, out SlotState next))
        {
            return false;
        }

        _state = next;
        PublishStandingLocked();
        return true;
    }

    // Under the slot's lock, with each state change and each change of the serving generation, so the last standing published is
    // the latest one's: the budget reads it under its own lock without taking this one.
    private void SetServing(ModelGeneration<TModel>? generation)
    {
        _cell.Serving = generation;
        PublishStandingLocked();
    }

    /// <summary>Tells the budget again whether it may evict the model now (after an eviction found the state changed).</summary>
    public void PublishStanding()
    {
        lock (this)
        {
            PublishStandingLocked();
        }
    }

    private void PublishStandingLocked() => _context.SlotMember?.Publish(_state.ToStanding(_cell.Serving is not null));
}
