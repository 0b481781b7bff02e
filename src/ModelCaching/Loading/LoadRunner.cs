using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;
using ModelCaching.Expiration;
using ModelCaching.FailSafe;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>
/// The loads of one model, from request to outcome: it asks its <see cref="LoadCoordinator{TModel}"/> (which it makes,
/// and whose <see cref="ILoadHost{TModel}"/> it is) for a load, runs the <see cref="LoadPipeline{TModel}"/> (which it
/// makes, and whose <see cref="ILoadStepHost{TModel}"/> it is: LoadRunner.Steps.cs) on the attempt's thread, and hands
/// the outcome (a swap, unchanged, a failure) to <see cref="ServingChanges{TModel}"/>. Also the loads nobody waits for (a
/// retry, a refresh-ahead, a change of the source); the misses and the timers' callbacks in LoadRunner.Requests.cs (it is
/// the timers' <see cref="ITimedModel"/>); the explicit reload and the rollback in LoadRunner.Explicit.cs.
/// </summary>
/// <remarks>
/// One object for what were three parts sharing every field (the runner, the requests, the step host): issue 18, what a
/// known name costs. It calls the cache only for its used flag (<see cref="ModelCache{TModel}.TakeUsed"/>).
/// </remarks>
internal sealed partial class LoadRunner<TModel> : ILoadHost<TModel>, ILoadStepHost<TModel>, ITimedModel
    where TModel : class
{
    private readonly ServingChanges<TModel> _changes;

    // Where each generation comes from: the IModelSource (with the settings' loader) or the IModelFactory<TModel>. The
    // pipeline of steps is made from it for each load (NewPipeline): a known model holds none between loads.
    private readonly object _origin;

    // Made when disposal first asks for it (Close, Ended): a model that is never disposed needs none.
    private TaskCompletionSource? _ended;

    // The size of the last generation, the estimate for the next load of a model measured after it is built.
    private long _lastSize;

    private long _misses;

    // The provider's load slots, which the coordinator's attempts queue for (ILoadHost.Limiter).
    private readonly ModelLoadLimiter _limiter;

    // Set once the source returns content: the model exists, and metrics may name it (a template's made-up name is not).
    private volatile bool _sourceFound;

    // Made with the changes it applies loads to (it drives their timers); source or factory, as the cache's.
    public LoadRunner(ServingChanges<TModel> changes, ModelOptions<TModel> settings, IModelSource? source, IModelFactory<TModel>? factory, ModelLoadLimiter limiter)
    {
        _changes = changes;
        _origin = (object?)factory ?? source ?? throw new ArgumentException("A model needs a source or a factory.", nameof(source));
        ModelCache<TModel> cache = changes.Cache;
        _limiter = limiter;
        Coordinator = new LoadCoordinator<TModel>(this);
        changes.Timers?.Drive(this);
    }

    public LoadCoordinator<TModel> Coordinator { get; }

    /// <summary>What builds the model with no content (a model from a factory), or <see langword="null"/>.</summary>
    public IModelFactory<TModel>? Factory => _origin as IModelFactory<TModel>;

    // Read from the parts that own them (one field each there, none here).
    private string Name => _changes.Cache.Name;

    private string SourceDescription => _changes.Cache.SourceDescription;

    private ModelSlot<TModel> Slot => _changes.Slot;

    private FailSafePolicy FailSafe => _changes.FailSafe;

    private ModelOptions<TModel> Settings => _changes.Cache.Settings;

    private MemoryBudget? Budget => _changes.Budget;

    private TimeProvider Time => _changes.TimeProvider;

    private ILogger Logger => _changes.Logger;

    private ModelCacheMetrics Metrics => _changes.Metrics;

    /// <summary>Starts a load or joins the one in progress; within the cool-down after a failure, answers at once.</summary>
    public Task<ModelGeneration<TModel>> Request(ModelLoadReason reason)
    {
        if (Slot.IsDisposed)
        {
            throw _changes.DisposedError();
        }

        if (reason == ModelLoadReason.FirstUse && Slot.Serving is null && !Coordinator.IsLoading && FailSafe.TryGetCooldownFailure(out ModelLoadException? failure))
        {
            // Within the cool-down after a failure: answer at once instead of hammering a broken source.
            return Task.FromException<ModelGeneration<TModel>>(failure);
        }

        return Coordinator.Request(reason);
    }

    /// <summary>A load nobody waits for (a retry, a refresh-ahead, a change); its failure is logged and counted already.</summary>
    public void StartInBackground(ModelLoadReason reason)
    {
        // Runs on a timer or a load thread: an exception here would be unhandled and end the process. A cache disposed
        // meanwhile (also a template's model dropped after its first load failed) has nothing to load.
        if (Slot.IsDisposed)
        {
            return;
        }

        try
        {
            _ = Request(reason).ContinueWith(
                static task => _ = task.Exception, // Logged and counted by the pipeline already.
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
        catch (Exception ex) when (ex is ObjectDisposedException || Slot.IsDisposed)
        {
            // A timer that fired while the cache was being disposed (or dropped).
        }
    }

    /// <summary>The source (or the factory) reports a change.</summary>
    public void OnSourceChanged()
    {
        bool loading = Coordinator.IsLoading;
        (SlotState state, ModelGeneration<TModel>? serving, _) = Slot.Read();

        // Never loaded (or unloaded) and nothing loading: the next use reads the new content anyway. But after a
        // failed load nothing may come (an unready instance gets no traffic), so the change loads at once.
        if (state == SlotState.Disposed || (serving is null && !loading && state != SlotState.Failed))
        {
            return;
        }

        Log.ChangeDetected(Logger, Name, SourceDescription);
        StartInBackground(ModelLoadReason.SourceChanged);
    }

    /// <summary>Completes when the load threads that were running at <see cref="Close"/> have ended (maybe never: a hung callback).</summary>
    public Task Ended => EndedSource.Task;

    private TaskCompletionSource EndedSource => LazyInitializer.EnsureInitialized(ref _ended, static () => new(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>At disposal: no attempt starts any more; <see cref="Ended"/> completes when the attempts running now have ended.</summary>
    public void Close()
    {
        Coordinator.Close();

        // Taken after Close (no attempt starts later) and before AbandonAll (an attempt that ends at once is seen).
        (LoadAttempt<TModel>? inflight, LoadAttempt<TModel>? abandoned) = Coordinator.Snapshot();
        Task running = (inflight?.Ended, abandoned?.Ended) switch
        {
            (null, null) => Task.CompletedTask,
            ({ } one, null) => one,
            (null, { } other) => other,
            ({ } one, { } other) => Task.WhenAll(one, other),
        };
        running.ContinueWith(static (_, state) => ((TaskCompletionSource)state!).TrySetResult(), EndedSource, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>At disposal, after <see cref="Close"/>: the attempt in progress, and any that starts now, is abandoned.</summary>
    public void AbandonAll() => Coordinator.AbandonAll();

    void ILoadHost<TModel>.OnLoadStarting() => Slot.OnLoadStarting();

    string ILoadHost<TModel>.ModelName => Name;

    string ILoadHost<TModel>.SourceDescription => SourceDescription;

    TimeProvider ILoadHost<TModel>.TimeProvider => Time;

    TimeSpan ILoadHost<TModel>.LoadTimeout => Settings.LoadTimeout;

    ModelLoadLimiter ILoadHost<TModel>.Limiter => _limiter;

    /// <summary>On the attempt's thread: the pipeline, then (unless the attempt was abandoned) the swap or the failure.</summary>
    ModelGeneration<TModel> ILoadHost<TModel>.RunLoad(LoadAttempt<TModel> attempt)
    {
        using Activity? activity = StartLoadActivity(attempt.Reason);
        Log.LoadStarted(Logger, Name, SourceDescription, attempt.Reason);

        LoadPipeline<TModel> pipeline = NewPipeline();
        attempt.Pipeline = pipeline;
        LoadOutcome<TModel> outcome = pipeline.Run(attempt, Slot.Serving);

        // Recorded after the fetch, when it is known whether the model exists (a made-up name adds no series).
        Metrics.RecordLoadWait(_changes.Cache, ModelCacheMetrics.WaitedForSlot, Time.GetElapsedTime(attempt.QueuedAt, attempt.StartedAt));
        if (!attempt.TryBeginFinish())
        {
            // Timed out or disposed meanwhile: the waiters have their answer; this late model never serves.
            activity?.SetStatus(ActivityStatusCode.Error, "abandoned");
            activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "abandoned");
            pipeline.DiscardLate(attempt, outcome);
            throw new OperationCanceledException("The load attempt was abandoned.");
        }

        return Finish(attempt, outcome, activity);
    }

    void ILoadHost<TModel>.OnLoadTimedOut(LoadAttempt<TModel> attempt, ModelLoadException failure) =>
        _changes.Failed(failure, attempt, ModelLoadOutcome.Failure, attempt.Artifact?.ContentHash, activity: null);

    void ILoadHost<TModel>.OnRetryDue() => StartInBackground(ModelLoadReason.Retry);

    /// <summary>Applies a pipeline's outcome: swap, unchanged, or a failure that keeps the last good model.</summary>
    private ModelGeneration<TModel> Finish(LoadAttempt<TModel> attempt, LoadOutcome<TModel> outcome, Activity? activity)
    {
        long started = attempt.StartedAt;
        if (outcome.Unchanged is { } unchanged)
        {
            return _changes.Unchanged(unchanged, attempt.Reason, started, activity);
        }

        if (outcome.Model is { } model)
        {
            GenerationCharge? charge = Charge(model, attempt.TakeReservation(), outcome.Size, outcome.LoadTime, outcome.Retained);
            ModelGeneration<TModel> generation = Slot.CreateGeneration(model, outcome.Artifact, outcome.Size, charge);
            _changes.Swap(generation, attempt.Reason, started, activity);
            return generation;
        }

        Exception ex = outcome.Error!;
        if (ex is ModelReloadRefusedException refused)
        {
            // Not a failure: the serving model is fine and nothing is retried. Each caller records it (ReloadAsync).
            activity?.SetTag(ModelCacheMetrics.LoadOutcomeTag, "refused");
            throw refused;
        }

        if (outcome.Skipped)
        {
            var skipped = (ModelLoadException)ex;
            _changes.Failed(skipped, attempt, ModelLoadOutcome.Skipped, outcome.Artifact?.ContentHash, activity);
            throw skipped;
        }

        if (ex is ModelLoadException { ModelName: var modelName } own && modelName == Name)
        {
            throw own;
        }

        var failure = ModelLoadException.Of(Name, SourceDescription, LoadPipeline<TModel>.Describe(ex), ex, _changes.Cache.TemplateName);
        if (outcome.ContentAtFault && outcome.Artifact?.ContentHash is { } badHash)
        {
            FailSafe.Reject(badHash, failure.Cause);
        }

        _changes.Failed(failure, attempt, ModelLoadOutcome.Failure, outcome.Artifact?.ContentHash, activity);
        throw failure;
    }

    // The steps of one load, made from the settings for each attempt (a list of shared steps; a fetch step for a source).
    private LoadPipeline<TModel> NewPipeline() =>
        new(Name, SourceDescription, _origin as IModelSource, Settings.Loader, Factory, Settings, FailSafe, Logger, Time, this);

    private Activity? StartLoadActivity(ModelLoadReason reason)
    {
        Activity? activity = ModelCacheActivitySource.Instance.StartActivity("modelcache.load");
        activity?.SetTag(ModelCacheMetrics.ModelNameTag, Name);
        activity?.SetTag(ModelCacheMetrics.LoadReasonTag, ModelCacheMetrics.ReasonTag(reason));
        return activity;
    }

    private static async Task WaitIgnoringFailure(Task task, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ModelLoadException)
        {
        }
    }
}
