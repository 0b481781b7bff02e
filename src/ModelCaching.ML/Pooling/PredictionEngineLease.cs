using System.Runtime.CompilerServices;
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
    /// <exception cref="ObjectDisposedException">The lease ended: the engine went back to the pool and may serve another caller.</exception>
    public PredictionEngine<TData, TPrediction> Engine
    {
        get
        {
            PooledEngine<TData, TPrediction> engine = _engine ?? throw new InvalidOperationException("This lease is default: it holds no engine. Rent one with PredictionPool.Rent().");

            // One read: a lease (or a copy of it) whose engine has been returned since it was rented must not reach the
            // engine, which may be another caller's by now and is not thread-safe.
            return Volatile.Read(ref engine.Returns) == _returns ? engine.Engine : throw Ended();
        }
    }

    /// <summary>Returns the engine to the pool (or disposes it when its generation was swapped out). Later calls do nothing.</summary>
    public void Dispose() => _engine?.Generation.ReturnLeased(_engine, _returns, _slot);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ObjectDisposedException Ended() =>
        new(nameof(PredictionEngineLease<TData, TPrediction>), "This lease ended: its engine went back to the pool and may serve another caller now. Rent another one.");
}
