namespace ModelCaching.Onnx;

/// <summary>The typed ONNX API on a model cache: rent a runner of the serving generation, pinned for the call.</summary>
public static class OnnxModelCacheExtensions
{
    /// <summary>
    /// Pins the serving generation and rents one of its runners. A hit allocates nothing. Dispose the result once,
    /// after reading the outputs.
    /// </summary>
    /// <example>
    /// <code>
    /// using OnnxInference inference = cache.Rent();
    /// features.CopyTo(inference.Input&lt;float&gt;("Features"));
    /// inference.Run();
    /// float first = inference.Output&lt;float&gt;("Score.onnx")[0];
    /// </code>
    /// </example>
    /// <exception cref="ModelLoadException">No model is serving and loading failed.</exception>
    /// <exception cref="NotSupportedException">The typed API cannot run this model (a sequence input, say).</exception>
    public static OnnxInference Rent(this IModelCache<OnnxModel> cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ModelLease<OnnxModel> lease = cache.Acquire();
        return RentFrom(lease);
    }

    /// <summary>The asynchronous form of <see cref="Rent"/>: a miss waits for the load without blocking a thread.</summary>
    public static async ValueTask<OnnxInference> RentAsync(this IModelCache<OnnxModel> cache, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ModelLease<OnnxModel> lease = await cache.AcquireAsync(cancellationToken).ConfigureAwait(false);
        return RentFrom(lease);
    }

    private static OnnxInference RentFrom(ModelLease<OnnxModel> lease)
    {
        OnnxRunner runner;
        try
        {
            runner = lease.Model.RentRunner();
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        // The runner is ours alone until returned, so a plain increment is enough to tell rentals apart.
        int rental = ++runner.Rentals;
        if (rental == 0)
        {
            rental = runner.Rentals = 1;
        }

        Volatile.Write(ref runner.ActiveRental, rental);
        return new OnnxInference(lease, runner, rental);
    }
}
