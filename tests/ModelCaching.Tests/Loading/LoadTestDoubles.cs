using ModelCaching.Generations;
using ModelCaching.Loading;

namespace ModelCaching.Tests.Loading;

/// <summary>A cache as <see cref="LoadCoordinator{TModel}"/> sees it, each member a test's lambda.</summary>
internal sealed class DelegateLoadHost<TModel>(
    Func<LoadAttempt<TModel>, ModelGeneration<TModel>> run,
    Action? onStarting = null,
    Action<LoadAttempt<TModel>, ModelLoadException>? onTimedOut = null,
    Action? onRetryDue = null) : ILoadHost<TModel>
    where TModel : class
{
    public ModelGeneration<TModel> RunLoad(LoadAttempt<TModel> attempt) => run(attempt);

    public void OnLoadStarting() => onStarting?.Invoke();

    public void OnLoadTimedOut(LoadAttempt<TModel> attempt, ModelLoadException failure) => onTimedOut?.Invoke(attempt, failure);

    public void OnRetryDue() => onRetryDue?.Invoke();

    public bool TryDetach()
    {
        if (DetachWhenIdle)
        {
            Interlocked.Increment(ref _detaches);
        }

        return DetachWhenIdle;
    }

    /// <summary>Whether the host lets go of its coordinator when it goes idle (a cache does; false: kept for good).</summary>
    public bool DetachWhenIdle { get; init; }

    /// <summary>How many times the coordinator was let go of.</summary>
    public int Detaches => Volatile.Read(ref _detaches);

    private int _detaches;

    public string ModelName { get; init; } = "m";

    public string SourceDescription { get; init; } = "memory:test";

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public TimeSpan LoadTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    public ModelLoadLimiter Limiter { get; init; } = ModelLoadLimiter.Unlimited;
}

/// <summary>A coordinator as <see cref="LoadAttempt{TModel}"/> sees it, each member a test's lambda.</summary>
internal sealed class DelegateAttemptOwner<TModel>(
    Action<LoadAttempt<TModel>> run,
    Action<LoadAttempt<TModel>, Exception>? onAbandoned = null,
    Action<LoadAttempt<TModel>>? onEnded = null) : ILoadAttemptOwner<TModel>
    where TModel : class
{
    /// <summary>An owner whose attempts do nothing: for an attempt that only carries a reason and a step.</summary>
    public static DelegateAttemptOwner<TModel> Idle { get; } = new(static _ => { });

    public void Run(LoadAttempt<TModel> attempt) => run(attempt);

    public void OnAbandoned(LoadAttempt<TModel> attempt, Exception cause) => onAbandoned?.Invoke(attempt, cause);

    public void OnEnded(LoadAttempt<TModel> attempt) => onEnded?.Invoke(attempt);
}

/// <summary>A load waiting for a slot (<see cref="ILoadSlotWaiter"/>), its answer a test's lambda.</summary>
internal sealed class DelegateSlotWaiter(Func<bool> onSlot) : ILoadSlotWaiter
{
    public bool OnSlot() => onSlot();
}
