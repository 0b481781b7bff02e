using ModelCaching.Expiration;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

// Who wants a model that does not serve, and what the timers want: a miss waits for the shared load (synchronously
// without ever needing a pool thread, or asynchronously) and is counted; a timer (ServingTimers, through ITimedModel)
// starts a load in the background, asks whether the model was used, or unloads it.
internal sealed partial class LoadRunner<TModel>
{
    // How often a synchronous waiter wakes to check the load's timeout itself (timers need a free pool thread).
    private static readonly TimeSpan SyncWaitSlice = TimeSpan.FromMilliseconds(50);

    /// <summary>The misses counted so far.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>
    /// The synchronous miss: waits for the shared load without ever needing a pool thread. The load runs on a
    /// thread of its own, its completion wakes this thread directly, and this thread enforces the load timeout
    /// itself, so a burst of blocked pool threads cannot hold the load or its timeout up.
    /// </summary>
    public ModelGeneration<TModel> WaitForGeneration()
    {
        CountMiss();
        while (true)
        {
            if (Slot.Serving is { } current)
            {
                return current;
            }

            Task<ModelGeneration<TModel>> load = Request(ModelLoadReason.FirstUse);
            while (!WaitQuietly(load, SyncWaitSlice))
            {
                Coordinator.Inflight?.AbandonIfOverdue();
            }

            if (load.IsCompletedSuccessfully)
            {
                if (!load.Result.IsDisposed)
                {
                    return load.Result;
                }

                continue;
            }

            if (Slot.Serving is not null)
            {
                // The load this caller joined failed, but a model serves anyway (an unload-first swap restored the
                // previous content): serve it rather than fail the request.
                continue;
            }

            load.GetAwaiter().GetResult();
        }
    }

    /// <summary>Counts a miss and waits for the shared load; the token ends only this caller's wait.</summary>
    public async ValueTask<ModelGeneration<TModel>> WaitForGenerationAsync(CancellationToken cancellationToken)
    {
        CountMiss();
        while (true)
        {
            if (Slot.Serving is { } current)
            {
                return current;
            }

            Task<ModelGeneration<TModel>> load = Request(ModelLoadReason.FirstUse);
            ModelGeneration<TModel> generation;
            try
            {
                generation = await load.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ModelLoadException) when (Slot.Serving is not null)
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

    void ITimedModel.LoadInBackground(ModelLoadReason reason) => StartInBackground(reason);

    void ITimedModel.UnloadIdle() => _changes.Unload("idle");

    /// <summary>At an idle tick: the hit paths set the cache's used flag (read-mostly); the tick reads and clears it. Misses are counted exactly.</summary>
    IdleTickState ITimedModel.CheckIdle()
    {
        bool used = _changes.Cache.TakeUsed();
        long misses = Misses;
        bool loading = Coordinator.IsLoading;
        (SlotState state, ModelGeneration<TModel>? serving, _) = Slot.Read();

        // Degraded: the last good model is what fail-safe keeps; an idle unload would throw it away.
        if (state is SlotState.Disposed or SlotState.Degraded || serving is null)
        {
            return IdleTickState.NotApplicable;
        }

        // Leases alive at the unload keep their generation until they end, so they need not hold off the
        // unload; a long-lived holder (an engine pool) lets go on the Unloaded event.
        bool missed = _changes.Timers?.SawNewMisses(misses) ?? false;
        return used || missed || loading ? IdleTickState.Active : IdleTickState.Quiet;
    }

    private void CountMiss()
    {
        Interlocked.Increment(ref _misses);
        _changes.Member?.RecordMiss();
    }

    // Task.Wait without the AggregateException: the caller reads the outcome itself.
    private static bool WaitQuietly(Task task, TimeSpan timeout)
    {
        try
        {
            return task.Wait(timeout);
        }
        catch (AggregateException)
        {
            return true;
        }
    }
}
