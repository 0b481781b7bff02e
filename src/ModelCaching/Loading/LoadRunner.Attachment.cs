namespace ModelCaching.Loading;

// The runner's own life (issue 18, what a known name costs): attached to its cache by the first request that wants a
// load, detached by its coordinator as it goes idle, and kept for good once disposal closes it.
internal sealed partial class LoadRunner<TModel>
{
    /// <summary>
    /// At disposal (idempotent): no attempt starts any more, and the runner is kept from now on; its <see cref="Ended"/>
    /// completes when the attempts running at the first call have ended.
    /// </summary>
    public static LoadRunner<TModel> Close(ModelCache<TModel> cache)
    {
        while (true)
        {
            LoadRunner<TModel> runner = Attached(cache);
            if (runner.Coordinator.TryClose(out bool first))
            {
                if (first)
                {
                    runner.WatchEnded();
                }

                return runner;
            }
        }
    }

    /// <summary>Whether a load runs now (no runner is made to tell).</summary>
    public static bool IsLoading(ModelCache<TModel> cache) => Current(cache)?.Coordinator.IsLoading == true;

    /// <summary>The runner attached to <paramref name="cache"/> now, if any (none is made to tell).</summary>
    public static LoadRunner<TModel>? Current(ModelCache<TModel> cache) => Volatile.Read(ref cache.RunnerField);

    /// <summary>The attached runner, or a new one attached now: the first of racing callers wins, the others use its runner.</summary>
    public static LoadRunner<TModel> Attached(ModelCache<TModel> cache)
    {
        if (Volatile.Read(ref cache.RunnerField) is { } runner)
        {
            return runner;
        }

        var made = new LoadRunner<TModel>(cache);
        return Interlocked.CompareExchange(ref cache.RunnerField, made, null) ?? made;
    }

    /// <summary>Completes when the load threads that were running at <see cref="Close"/> have ended (maybe never: a hung callback).</summary>
    public Task Ended => EndedSource.Task;

    private TaskCompletionSource EndedSource => LazyInitializer.EnsureInitialized(ref _ended, static () => new(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>At disposal, after <see cref="Close"/>: the attempt in progress, and any that starts now, is abandoned.</summary>
    public void AbandonAll() => Coordinator.AbandonAll();

    // Taken after the coordinator closed (no attempt starts later) and before AbandonAll (an attempt that ends at once is seen).
    private void WatchEnded()
    {
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

    // Under the coordinator's lock, as it goes idle: only a swap of the cache's reference (a request that read this runner
    // before finds its coordinator detached, and reads again).
    bool ILoadHost<TModel>.TryDetach() => Interlocked.CompareExchange(ref _cache.RunnerField, null, this) == this;
}
