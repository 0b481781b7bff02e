using ModelCaching.Generations;

namespace ModelCaching.Loading;

/// <summary>
/// The cache's side of single flight: what <see cref="LoadCoordinator{TModel}"/> asks of the model it loads. The cache
/// implements it explicitly; it is the coordinator's only way back into the cache (no callbacks are wired as delegates).
/// </summary>
/// <remarks>The coordinator calls these outside its own lock (but for <see cref="TryDetach"/>), so the cache may take its lock in them.</remarks>
internal interface ILoadHost<TModel>
    where TModel : class
{
    /// <summary>On the attempt's thread: the pipeline and the swap; returns the serving generation or throws the failure.</summary>
    ModelGeneration<TModel> RunLoad(LoadAttempt<TModel> attempt);

    /// <summary>Before an attempt starts (the cache shows Loading when nothing serves).</summary>
    void OnLoadStarting();

    /// <summary>
    /// An attempt timed out (or was refused a thread at the cap of abandoned ones): the cache records the failure (state,
    /// retry) before the attempt's waiters hear of it.
    /// </summary>
    void OnLoadTimedOut(LoadAttempt<TModel> attempt, ModelLoadException failure);

    /// <summary>A timed-out attempt's thread ended and a load waited for it.</summary>
    void OnRetryDue();

    /// <summary>
    /// The coordinator went idle (no attempt, nothing queued, no abandoned thread) and is not closed: whether the host let
    /// go of it (the coordinator then starts nothing more). Called under the coordinator's lock: it takes no lock and
    /// calls nothing that could.
    /// </summary>
    bool TryDetach();

    /// <summary>
    /// Under the coordinator's lock, when a first-use request would start an attempt: the answer to give instead, if any:
    /// the generation that serves now (a load that ended just before), or the failure while nothing serves and the
    /// cool-down after a failure lasts. Checked where no load can end in between, so a burst of callers that raced the
    /// load neither loads the model twice nor loads a broken source again. It takes only the fail-safe memory's lock,
    /// which calls nothing.
    /// </summary>
    Task<ModelGeneration<TModel>>? FirstUseAnswer() => null;

    /// <summary>The model's name, for the coordinator's errors.</summary>
    string ModelName { get; }

    /// <summary>Where the model comes from, for the coordinator's errors.</summary>
    string SourceDescription { get; }

    /// <summary>The clock of the attempts' timeouts.</summary>
    TimeProvider TimeProvider { get; }

    /// <summary>How long one attempt may run (<see cref="ModelOptions.LoadTimeout"/>).</summary>
    TimeSpan LoadTimeout { get; }

    /// <summary>The slots the attempts queue for (<see cref="ModelOptions"/>' provider's <c>MaxConcurrentLoads</c>).</summary>
    ModelLoadLimiter Limiter { get; }
}
