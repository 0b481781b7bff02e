using ModelCaching.Expiration;
using ModelCaching.Generations;

namespace ModelCaching.Loading;

// Who wants a model that does not serve, and what the timers want: a miss waits for the shared load (synchronously
// without ever needing a pool thread, or asynchronously) and is counted; a timer (ServingTimers, through the cache's
// ITimedModel) starts a load in the background or asks whether the model was used. Static: a runner is made only when a
// load is asked for (Request).
internal sealed partial class LoadRunner<TModel>
{
    // How often a synchronous waiter wakes to check the load's timeout itself (timers need a free pool thread).
    private static readonly TimeSpan SyncWaitSlice = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The synchronous miss: waits for the shared load without ever needing a pool thread. The load runs on a
    /// thread of its own, its completion wakes this thread directly, and this thread enforces the load timeout
    /// itself, so a burst of blocked pool threads cannot hold the load or its timeout up.
    /// </summary>
    public static ModelGeneration<TModel> WaitForGeneration(ModelCache<TModel> cache)
    {
        ModelSlot<TModel> slot = CountMiss(cache);
        while (true)
        {
            if (slot.Serving is { } current)
            {
                return current;
            }

            Task<ModelGeneration<TModel>> load = Request(cache, ModelLoadReason.FirstUse);
            while (!WaitQuietly(load, SyncWaitSlice))
            {
                Current(cache)?.Coordinator.Inflight?.AbandonIfOverdue();
            }

            if (load.IsCompletedSuccessfully)
            {
                if (!load.Result.IsDisposed)
                {
                    return load.Result;
                }

                continue;
            }

            if (slot.Serving is not null)
            {
                // The load this caller joined failed, but a model serves anyway (an unload-first swap restored the
                // previous content): serve it rather than fail the request.
                continue;
            }

            load.GetAwaiter().GetResult();
        }
    }

    /// <summary>Counts a miss and waits for the shared load; the token ends only this caller's wait.</summary>
    public static async ValueTask<ModelGeneration<TModel>> WaitForGenerationAsync(ModelCache<TModel> cache, CancellationToken cancellationToken)
    {
        ModelSlot<TModel> slot = CountMiss(cache);
        while (true)
        {
            if (slot.Serving is { } current)
            {
                return current;
            }

            Task<ModelGeneration<TModel>> load = Request(cache, ModelLoadReason.FirstUse);
            ModelGeneration<TModel> generation;
            try
            {
                generation = await load.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ModelLoadException) when (slot.Serving is not null)
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

    /// <summary>The synchronous lease on a miss: the shared load's generation (or the serving one), leased.</summary>
    public static ModelLease<TModel> AcquireOnMiss(ModelCache<TModel> cache)
    {
        while (true)
        {
            ModelGeneration<TModel> generation = cache.Changes.Slot.Serving ?? WaitForGeneration(cache);
            if (generation.TryAcquire())
            {
                cache.MarkUsed();
                return new ModelLease<TModel>(generation);
            }

            // Swapped out and disposed between the read and the acquire: read the new one.
        }
    }

    /// <summary>The asynchronous lease on a miss; the token ends only this caller's wait.</summary>
    public static async ValueTask<ModelLease<TModel>> AcquireOnMissAsync(ModelCache<TModel> cache, CancellationToken cancellationToken)
    {
        while (true)
        {
            ModelGeneration<TModel>? current = cache.Changes.Slot.Serving;
            if (current is null)
            {
                ModelGeneration<TModel> generation = await WaitForGenerationAsync(cache, cancellationToken).ConfigureAwait(false);
                if (generation.TryAcquire())
                {
                    return new ModelLease<TModel>(generation);
                }
            }
            else if (current.TryAcquire())
            {
                cache.MarkUsed();
                return new ModelLease<TModel>(current);
            }

            // Swapped out and disposed between the read and the acquire: read the new one.
        }
    }

    /// <summary>At an idle tick: the hit paths set the cache's used flag (read-mostly); the tick reads and clears it. Misses are counted exactly.</summary>
    public static IdleTickState CheckIdle(ModelCache<TModel> cache)
    {
        bool used = cache.TakeUsed();
        long misses = Interlocked.Read(ref cache.MissCount);
        bool loading = IsLoading(cache);
        (SlotState state, ModelGeneration<TModel>? serving, _) = cache.Changes.Slot.Read();

        // Degraded: the last good model is what fail-safe keeps; an idle unload would throw it away.
        if (state is SlotState.Disposed or SlotState.Degraded || serving is null)
        {
            return IdleTickState.NotApplicable;
        }

        // Leases alive at the unload keep their generation until they end, so they need not hold off the
        // unload; a long-lived holder (an engine pool) lets go on the Unloaded event.
        bool missed = cache.Changes.Timers?.SawNewMisses(misses) ?? false;
        return used || missed || loading ? IdleTickState.Active : IdleTickState.Quiet;
    }

    private static ModelSlot<TModel> CountMiss(ModelCache<TModel> cache)
    {
        Interlocked.Increment(ref cache.MissCount);
        cache.Changes.Member?.RecordMiss();
        return cache.Changes.Slot;
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
