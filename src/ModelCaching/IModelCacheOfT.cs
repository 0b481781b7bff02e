namespace ModelCaching;

/// <summary>
/// Keeps one model in memory and serves it to every caller: loaded once (lazily, eagerly, or on a
/// time-to-live), swapped atomically on reload, and never replaced by a model that failed to load.
/// </summary>
/// <typeparam name="TModel">The model type, for example ML.NET's <c>ITransformer</c> or ONNX Runtime's <c>InferenceSession</c>.</typeparam>
public interface IModelCache<TModel> : IModelCache
    where TModel : class
{
    /// <summary>
    /// Returns the serving model. A hit takes no lock and allocates nothing. On a miss the calling thread
    /// waits for the (single, shared) load; prefer <see cref="GetModelAsync"/> or an eager policy where a
    /// thread must not block.
    /// </summary>
    /// <remarks>
    /// The model returned is not pinned: when it is <see cref="IDisposable"/>, a reload disposes the old
    /// generation after <see cref="ModelOptions.DrainDelay"/>. Use <see cref="Acquire"/> to pin it for longer.
    /// </remarks>
    /// <exception cref="ModelLoadException">No model is serving and loading failed.</exception>
    /// <exception cref="ObjectDisposedException">The cache was disposed.</exception>
    TModel GetModel();

    /// <summary>Returns the serving model, loading it first if needed. A hit completes synchronously without allocating.</summary>
    /// <param name="cancellationToken">Stops this caller's wait only; a shared load goes on for the others.</param>
    ValueTask<TModel> GetModelAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Pins the serving generation until the lease is disposed: the model is not disposed while any lease on
    /// it is alive, even when a reload swaps it out. Dispose the lease exactly once.
    /// </summary>
    ModelLease<TModel> Acquire();

    /// <summary>The asynchronous form of <see cref="Acquire"/>.</summary>
    ValueTask<ModelLease<TModel>> AcquireAsync(CancellationToken cancellationToken = default);
}
