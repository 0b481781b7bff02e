using System.Runtime.CompilerServices;
using Microsoft.ML;
using ModelCaching.ML.Diagnostics;

namespace ModelCaching.ML;

/// <summary>
/// Following the cache's model: each model the cache serves gets one generation of engines, made at the first call
/// that sees it and retired as soon as the cache swaps or unloads it (so its lease on the old model ends).
/// </summary>
public sealed partial class PredictionPool<TData, TPrediction>
{
    /// <summary>The generation of the model the cache serves now. A hit reads two fields and allocates nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private EngineGeneration<TData, TPrediction> CurrentGeneration()
    {
        // Before the cache is asked: a call on a disposed pool is no request for the model (no hit, no load of an unloaded one).
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _isDisposed), this);
        ITransformer model = _modelCache is { } modelCache ? modelCache.GetModel() : _cache.GetModel();
        EngineGeneration<TData, TPrediction>? generation = _generation;
        return generation is not null && ReferenceEquals(generation.Model, model) ? generation : SwitchGeneration();
    }

    /// <summary>
    /// The fast path's check, for a thread that keeps <paramref name="cell"/>: its generation when the cache serves that
    /// generation's model now (read from the cache, not trusted from the pool's events). The cache is marked used, for
    /// its idle timeout, and the hit is counted by <see cref="EngineGeneration{TData, TPrediction}.TryEnter"/> in the
    /// cell (see <see cref="PoolHitCounts"/>) instead of the cache's counter. <see langword="null"/> sends the caller to
    /// the slow path, which makes its hit (or miss) through <c>GetModel()</c>; so does every call on a cache that is not
    /// a <see cref="ModelCache{TModel}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private EngineGeneration<TData, TPrediction>? KeptGeneration(EngineCell cell)
    {
        EngineGeneration<TData, TPrediction>? generation = _generation;
        if (generation is null || cell.GenerationId != generation.Id || _modelCache is not { } cache)
        {
            return null;
        }

        // The version object is the serving generation's own: the same reference exactly when the same model serves.
        if (!ReferenceEquals(cache.Version, generation.Version))
        {
            return null;
        }

        cache.MarkUsed(countHit: false);
        return generation;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private EngineGeneration<TData, TPrediction> SwitchGeneration()
    {
        EngineGeneration<TData, TPrediction>? previous;
        EngineGeneration<TData, TPrediction> next;
        ObjectDisposedException.ThrowIf(_isDisposed, this);

        // Pin the serving model before taking the lock: Acquire may wait for a load, and that load raises
        // Reloaded, whose handler takes this lock (waiting inside it would deadlock). The generation's engines
        // never outlive the pinned model; a pin taken just before a swap is replaced by the next call.
        ModelLease<ITransformer> lease = _cache.Acquire();
        lock (_swapLock)
        {
            if (_isDisposed)
            {
                lease.Dispose();
                ObjectDisposedException.ThrowIf(true, this);
            }

            previous = _generation;
            if (previous is not null && ReferenceEquals(previous.Model, lease.Model))
            {
                lease.Dispose();
                return previous;
            }

            next = new EngineGeneration<TData, TPrediction>(_factory, lease, Interlocked.Increment(ref _generations));
            _generation = next;
        }

        if (previous is not null)
        {
            Log.GenerationRetired(_logger, _cache.Name, previous.Number, previous.LiveEngines);
            previous.Retire();
        }

        // The model pinned above may have been unloaded or replaced (an eviction, say) before its engines were installed:
        // its Unloaded or Reloaded event then found nothing to retire, and the pool's lease would keep it, and its memory,
        // until the pool is next used, while a load of this very model may be waiting for that memory. Installed first,
        // checked second: an event after the check finds the new engines and retires them itself.
        RetireUnless(_cache.Version?.Generation);
        return next;
    }

    private void OnReloaded(object? sender, ModelReloadedEventArgs e) => RetireUnless(e.Current.Generation);

    // The model was unloaded (idle, invalidated): release its engines and the pool's lease so its memory is freed.
    private void OnUnloaded(object? sender, ModelUnloadedEventArgs e) => RetireUnless(servingGeneration: null);

    private void RetireUnless(long? servingGeneration)
    {
        EngineGeneration<TData, TPrediction>? stale;
        lock (_swapLock)
        {
            stale = _generation;
            if (stale is null || stale.Version.Generation == servingGeneration)
            {
                return;
            }

            _generation = null;
        }

        Log.GenerationRetired(_logger, _cache.Name, stale.Number, stale.LiveEngines);
        stale.Retire();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PooledEngine<TData, TPrediction> RentSlow(ref EngineGeneration<TData, TPrediction> generation)
    {
        while (true)
        {
            if (generation.RentSlow() is { } engine)
            {
                return engine;
            }

            // Retired while we looked: move to the generation now serving.
            generation = CurrentGeneration();
            if (generation.TryRentFast() is { } fast)
            {
                return fast;
            }
        }
    }
}
