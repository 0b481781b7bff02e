using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>
/// An engine rented from a <see cref="PredictionPool{TData, TPrediction}"/>. A struct, so renting allocates
/// nothing; dispose it to give the engine back to the generation it came from. A second dispose (of this lease
/// or of a copy of it) does nothing: the engine is never put back twice.
/// </summary>
public readonly struct PredictionEngineLease<TData, TPrediction> : IDisposable
    where TData : class
    where TPrediction : class, new()
{
    private readonly PooledEngine<TData, TPrediction>? _engine;

    // How many times the engine had been returned when this lease rented it: only the first dispose of this
    // lease finds the same count and returns the engine.
    private readonly int _returns;

    // The slot the engine came from: it goes back there without asking for the processor again.
    private readonly int _slot;

    internal PredictionEngineLease(PooledEngine<TData, TPrediction> engine, int returns, int slot)
    {
        _engine = engine;
        _returns = returns;
        _slot = slot;
    }

    /// <summary>The rented engine. Use it from one thread at a time, and not after the lease ends.</summary>
    /// <exception cref="InvalidOperationException">The lease is <see langword="default"/>.</exception>
    public PredictionEngine<TData, TPrediction> Engine => _engine?.Engine ?? throw new InvalidOperationException("This lease is default: it holds no engine. Rent one with PredictionPool.Rent().");

    /// <summary>Returns the engine to the pool (or disposes it when its generation was swapped out). Later calls do nothing.</summary>
    public void Dispose() => _engine?.Generation.ReturnLeased(_engine, _returns, _slot);
}
