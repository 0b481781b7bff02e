using System.Runtime.CompilerServices;
using ModelCaching.Generations;

namespace ModelCaching;

// The misses: waiting for the shared load, synchronously (without ever needing a pool thread) or asynchronously.
public sealed partial class ModelCache<TModel>
{
    // How often a synchronous waiter wakes to check the load's timeout itself (timers need a free pool thread).
    private static readonly TimeSpan SyncWaitSlice = TimeSpan.FromMilliseconds(50);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private TModel GetModelOnMiss() => WaitForGeneration().Model;

    private async ValueTask<TModel> GetModelOnMissAsync(CancellationToken cancellationToken)
    {
        ModelGeneration<TModel> generation = await WaitForGenerationAsync(cancellationToken).ConfigureAwait(false);
        return generation.Model;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ModelLease<TModel> AcquireOnMiss()
    {
        while (true)
        {
            ModelGeneration<TModel> generation = _slot.Serving ?? WaitForGeneration();
            if (generation.TryAcquire())
            {
                MarkUsed();
                return new ModelLease<TModel>(generation);
            }

            // Swapped out and disposed between the read and the acquire: read the new one.
        }
    }

    /// <summary>
    /// The synchronous miss: waits for the shared load without ever needing a pool thread. The load runs on a
    /// thread of its own, its completion wakes this thread directly, and this thread enforces the load timeout
    /// itself, so a burst of blocked pool threads cannot hold the load or its timeout up.
    /// </summary>
    private ModelGeneration<TModel> WaitForGeneration()
    {
        Interlocked.Increment(ref _misses);
        _member?.RecordMiss();
        while (true)
        {
            if (_slot.Serving is { } current)
            {
                return current;
            }

            Task<ModelGeneration<TModel>> load = RequestLoad(ModelLoadReason.FirstUse);
            while (!WaitQuietly(load, SyncWaitSlice))
            {
                _coordinator.Inflight?.AbandonIfOverdue();
            }

            if (load.IsCompletedSuccessfully)
            {
                if (!load.Result.IsDisposed)
                {
                    return load.Result;
                }

                continue;
            }

            if (_slot.Serving is not null)
            {
                // The load this caller joined failed, but a model serves anyway (an unload-first swap restored the
                // previous content): serve it rather than fail the request.
                continue;
            }

            load.GetAwaiter().GetResult();
        }
    }

    private async ValueTask<ModelLease<TModel>> AcquireOnMissAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ModelGeneration<TModel>? current = _slot.Serving;
            if (current is not null)
            {
                if (current.TryAcquire())
                {
                    MarkUsed();
                    return new ModelLease<TModel>(current);
                }

                // Swapped out and disposed between the read and the acquire: read the new one.
                continue;
            }

            ModelGeneration<TModel> generation = await WaitForGenerationAsync(cancellationToken).ConfigureAwait(false);
            if (generation.TryAcquire())
            {
                return new ModelLease<TModel>(generation);
            }
        }
    }

    /// <summary>Counts a miss and waits for the shared load; the token ends only this caller's wait.</summary>
    private async ValueTask<ModelGeneration<TModel>> WaitForGenerationAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _misses);
        _member?.RecordMiss();
        while (true)
        {
            if (_slot.Serving is { } current)
            {
                return current;
            }

            Task<ModelGeneration<TModel>> load = RequestLoad(ModelLoadReason.FirstUse);
            ModelGeneration<TModel> generation;
            try
            {
                generation = await load.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ModelLoadException) when (_slot.Serving is not null)
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
