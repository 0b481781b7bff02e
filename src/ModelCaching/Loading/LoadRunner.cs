using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;
using ModelCaching.Expiration;
using ModelCaching.FailSafe;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>
/// The loads of one model while it has any, from request to outcome: it makes its <see cref="LoadCoordinator{TModel}"/>
/// (whose <see cref="ILoadHost{TModel}"/> it is), runs the <see cref="LoadPipeline{TModel}"/> (which it makes for each
/// attempt, and whose <see cref="ILoadStepHost{TModel}"/> it is: LoadRunner.Steps.cs) on the attempt's thread, and hands
/// the outcome (a swap, unchanged, a failure) to <see cref="ServingChanges{TModel}"/>. Its static members are what a
/// caller or a timer asks of the model (they make a runner only when a load is asked for): the loads nobody waits for (a
/// retry, a refresh-ahead, a change of the source) here; the misses and the timers' ticks in LoadRunner.Requests.cs; the
/// explicit reload and the rollback in LoadRunner.Explicit.cs.
/// </summary>
/// <remarks>
/// Issue 18, what a known name costs: a runner and its coordinator are made by the first request
/// (<see cref="Attached"/>) and dropped together when the coordinator goes idle
/// (<see cref="ILoadHost{TModel}.TryDetach"/>), so a serving model with no load running holds neither. What outlives a
/// load (the misses, the last size, whether the source was found, the source or factory, the load limiter) is the
/// cache's. A closed runner (disposal) is never dropped: disposal waits for what it ran (<see cref="Ended"/>).
/// </remarks>
internal sealed partial class LoadRunner<TModel> : ILoadHost<TModel>, ILoadStepHost<TModel>
    where TModel : class
{
    private readonly ModelCache<TModel> _cache;

    // Made when disposal first asks for it (Close, Ended): a runner that is never closed needs none.
    private TaskCompletionSource? _ended;

    /// <summary>Made by <see cref="Attached"/> when a load is asked for and none is attached.</summary>
    public LoadRunner(ModelCache<TModel> cache)
    {
        _cache = cache;
        Coordinator = new LoadCoordinator<TModel>(this);
    }

    public LoadCoordinator<TModel> Coordinator { get; }

    // Read from the parts that own them (one field each there, none here).
    private ServingChanges<TModel> Changes => _cache.Changes;

    private string Name => _cache.Name;

    private string SourceDescription => _cache.SourceDescription;

    private ModelSlot<TModel> Slot => Changes.Slot;

    private FailSafePolicy FailSafe => Changes.FailSafe;

    private ModelOptions<TModel> Settings => _cache.Settings;

    private MemoryBudget? Budget => Changes.Budget;

    private TimeProvider Time => Changes.TimeProvider;

    private ILogger Logger => Changes.Logger;

    private ModelCacheMetrics Metrics => Changes.Metrics;

    /// <summary>Starts a load or joins the one in progress; within the cool-down after a failure, answers at once.</summary>
    public static Task<ModelGeneration<TModel>> Request(ModelCache<TModel> cache, ModelLoadReason reason)
    {
        ServingChanges<TModel> changes = cache.Changes;
        if (changes.Slot.IsDisposed)
        {
            throw changes.DisposedError();
        }

        if (reason == ModelLoadReason.FirstUse && changes.Slot.Serving is null && !IsLoading(cache) && changes.FailSafe.TryGetCooldownFailure(out ModelLoadException? failure))
        {
            // Within the cool-down after a failure: answer at once instead of hammering a broken source (no runner made).
            return Task.FromException<ModelGeneration<TModel>>(failure);
        }

        while (true)
        {
            // A runner detached between the read and the request (its last load just ended) starts nothing: the next
            // read finds no runner, or the one made meanwhile, and single flight holds across the two.
            if (Attached(cache).Coordinator.TryRequest(reason) is { } load)
            {
                return load;
            }
        }
    }

    /// <summary>A load nobody waits for (a retry, a refresh-ahead, a change); its failure is logged and counted already.</summary>
    public static void StartInBackground(ModelCache<TModel> cache, ModelLoadReason reason)
    {
        // Runs on a timer or a load thread: an exception here would be unhandled and end the process. A cache disposed
        // meanwhile (also a template's model dropped after its first load failed) has nothing to load.
        ModelSlot<TModel> slot = cache.Changes.Slot;
        if (slot.IsDisposed)
        {
            return;
        }

        try
        {
            _ = Request(cache, reason).ContinueWith(
                static task => _ = task.Exception, // Logged and counted by the pipeline already.
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
        catch (Exception ex) when (ex is ObjectDisposedException || slot.IsDisposed)
        {
            // A timer that fired while the cache was being disposed (or dropped).
        }
    }

    /// <summary>The source (or the factory) reports a change.</summary>
    public static void OnSourceChanged(ModelCache<TModel> cache)
    {
        bool loading = IsLoading(cache);
        (SlotState state, ModelGeneration<TModel>? serving, _) = cache.Changes.Slot.Read();

        // Never loaded (or unloaded) and nothing loading: the next use reads the new content anyway. But after a
        // failed load nothing may come (an unready instance gets no traffic), so the change loads at once.
        if (state == SlotState.Disposed || (serving is null && !loading && state != SlotState.Failed))
        {
            return;
        }

        Log.ChangeDetected(cache.Changes.Logger, cache.Name, cache.SourceDescription);
        StartInBackground(cache, ModelLoadReason.SourceChanged);
    }

    void ILoadHost<TModel>.OnLoadStarting() => Slot.OnLoadStarting();

    Task<ModelGeneration<TModel>>? ILoadHost<TModel>.FirstUseAnswer() =>
        Slot.Serving is { } serving ? Task.FromResult(serving)
        : FailSafe.TryGetCooldownFailure(out ModelLoadException? failure) ? Task.FromException<ModelGeneration<TModel>>(failure)
        : null;

    string ILoadHost<TModel>.ModelName => Name;

    string ILoadHost<TModel>.SourceDescription => SourceDescription;

    TimeProvider ILoadHost<TModel>.TimeProvider => Time;

    TimeSpan ILoadHost<TModel>.LoadTimeout => Settings.LoadTimeout;

    ModelLoadLimiter ILoadHost<TModel>.Limiter => _cache.Limiter;

    /// <summary>On the attempt's thread: the pipeline, then (unless the attempt was abandoned) the swap or the failure.</summary>
    ModelGeneration<TModel> ILoadHost<TModel>.RunLoad(LoadAttempt<TModel> attempt)
    {
        using Activity? activity = StartLoadActivity(Name, attempt.Reason);
        Log.LoadStarted(Logger, Name, SourceDescription, attempt.Reason);

        LoadPipeline<TModel> pipeline = NewPipeline();
        attempt.Pipeline = pipeline;
        LoadOutcome<TModel> outcome = pipeline.Run(attempt, Slot.Serving);

        // Recorded after the fetch, when it is known whether the model exists (a made-up name adds no series).
        Metrics.RecordLoadWait(_cache, ModelCacheMetrics.WaitedForSlot, Time.GetElapsedTime(attempt.QueuedAt, attempt.StartedAt));
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
        Changes.Failed(failure, attempt, ModelLoadOutcome.Failure, attempt.Artifact?.ContentHash, activity: null);

    void ILoadHost<TModel>.OnRetryDue() => StartInBackground(_cache, ModelLoadReason.Retry);

    /// <summary>Applies a pipeline's outcome: swap, unchanged, or a failure that keeps the last good model.</summary>
    private ModelGeneration<TModel> Finish(LoadAttempt<TModel> attempt, LoadOutcome<TModel> outcome, Activity? activity)
    {
        long started = attempt.StartedAt;
        if (outcome.Unchanged is { } unchanged)
        {
            return Changes.Unchanged(unchanged, attempt.Reason, started, activity);
        }

        if (outcome.Model is { } model)
        {
            GenerationCharge? charge = Charge(model, attempt.TakeReservation(), outcome.Size, outcome.LoadTime, outcome.Retained);
            ModelGeneration<TModel> generation = Slot.CreateGeneration(model, outcome.Artifact, outcome.Size, charge);
            Changes.Swap(generation, attempt.Reason, started, activity);
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
            Changes.Failed(skipped, attempt, ModelLoadOutcome.Skipped, outcome.Artifact?.ContentHash, activity);
            throw skipped;
        }

        if (ex is ModelLoadException { ModelName: var modelName } own && modelName == Name)
        {
            throw own;
        }

        var failure = ModelLoadException.Of(Name, SourceDescription, LoadPipeline<TModel>.Describe(ex), ex, _cache.TemplateName);
        if (outcome.ContentAtFault && outcome.Artifact?.ContentHash is { } badHash)
        {
            FailSafe.Reject(badHash, failure.Cause);
        }

        Changes.Failed(failure, attempt, ModelLoadOutcome.Failure, outcome.Artifact?.ContentHash, activity);
        throw failure;
    }

    // The steps of one load, made from the settings for each attempt (a list of shared steps; a fetch step for a source).
    private LoadPipeline<TModel> NewPipeline() =>
        new(Name, SourceDescription, _cache.Origin as IModelSource, Settings.Loader, _cache.Factory, Settings, FailSafe, Logger, Time, this);

    private static Activity? StartLoadActivity(string name, ModelLoadReason reason)
    {
        Activity? activity = ModelCacheActivitySource.Instance.StartActivity("modelcache.load");
        activity?.SetTag(ModelCacheMetrics.ModelNameTag, name);
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
