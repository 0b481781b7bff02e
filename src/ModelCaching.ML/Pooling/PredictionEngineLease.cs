using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>
/// An engine rented from a <see cref="PredictionPool{TData, TPrediction}"/>. A struct, so renting allocates
/// nothing; dispose it exactly once to give the engine back to the generation it came from.
/// </summary>
public readonly struct PredictionEngineLease<TData, TPrediction> : IDisposable
    where TData : class
    where TPrediction : class, new()
{
    private readonly EngineGeneration<TData, TPrediction>? _generation;
    private readonly PredictionEngine<TData, TPrediction>? _engine;

    internal PredictionEngineLease(EngineGeneration<TData, TPrediction> generation, PredictionEngine<TData, TPrediction> engine)
    {
        _generation = generation;
        _engine = engine;
    }

    /// <summary>The rented engine. Use it from one thread at a time, and not after the lease ends.</summary>
    /// <exception cref="InvalidOperationException">The lease is <see langword="default"/>.</exception>
    public PredictionEngine<TData, TPrediction> Engine => _engine ?? throw new InvalidOperationException("This lease is default: it holds no engine. Rent one with PredictionPool.Rent().");

    /// <summary>Returns the engine to the pool (or disposes it when its generation was swapped out).</summary>
    public void Dispose()
    {
        if (_engine is not null)
        {
            _generation!.Return(_engine);
        }
    }
}
