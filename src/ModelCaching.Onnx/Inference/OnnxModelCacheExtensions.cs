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
    /// inference.SetString("Label", "0");
    /// inference.SetInput&lt;float&gt;("Features", features);   // throws unless exactly 8 values
    /// inference.Run();                                       // throws if an input was not written since Rent()
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

        // The runner is ours alone until returned; the rental's token lets only this rental's handle (and its copies) use it.
        long rental = runner.BeginRental();
        return new OnnxInference(lease, runner, rental);
    }
}
