using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML;
using ModelCaching.ML.Diagnostics;

namespace ModelCaching.ML;

/// <summary>
/// Predicts with an ML.NET model from a <see cref="IModelCache{TModel}"/> through a pool of
/// <see cref="PredictionEngine{TSrc, TDst}"/>s: thread-safe, no allocation of its own per call, and on the fast path
/// (a thread predicting again with the engine it kept) only the cache hit and a few nanoseconds over a raw engine. Engines belong to the model generation they were created from: after a reload new calls
/// use new engines, and the old generation's engines are disposed as they come back.
/// </summary>
/// <typeparam name="TData">The input type, bound to the model's input columns.</typeparam>
/// <typeparam name="TPrediction">The output type, bound to the model's output columns.</typeparam>
public sealed partial class PredictionPool<TData, TPrediction> : IDisposable, PredictionPoolMetrics.IPoolMetricsSource
    where TData : class
    where TPrediction : class, new()
{
    private readonly IModelCache<ITransformer> _cache;

    // The cache as its sealed class when it is one (the usual case): a direct, inlinable GetModel() call on the
    // hot path instead of an interface dispatch, and the fast path's own hit (see KeptGeneration).
    private readonly ModelCache<ITransformer>? _modelCache;

    // The cache's hit counter when the fast path counts its hits itself (a ModelCache that counts hits): the cache adds
    // the pool's count to its own until the pool is disposed. Null otherwise.
    private readonly ModelCaching.Diagnostics.StackRegionCounter? _countedHits;
    private readonly EngineFactory<TData, TPrediction> _factory;

    // What each prediction fills, made without the shared generic code's runtime type lookup (see NewPrediction).
    private readonly Func<TPrediction> _newPrediction = NewPrediction<TPrediction>.Create;

    // Where this pool's cell sits in each thread's cells (EngineCell); freed at Dispose.
    private readonly int _poolIndex;
    private readonly ILogger _logger;
    private readonly Lock _swapLock = new();

    private volatile EngineGeneration<TData, TPrediction>? _generation;
    private long _generations;
    private bool _isDisposed;

    /// <summary>Creates a pool over the model in <paramref name="cache"/>.</summary>
    /// <param name="cache">The cache of the model. The pool does not own it.</param>
    /// <param name="context">The ML.NET context that creates the engines.</param>
    /// <param name="options">The pool's settings; a copy is taken.</param>
    /// <param name="loggerFactory">Where logs go; none by default.</param>
    public PredictionPool(IModelCache<ITransformer> cache, MLContext context, PredictionPoolOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(context);
        PredictionPoolOptions settings = options?.Clone() ?? new PredictionPoolOptions();
        _cache = cache;
        _modelCache = cache as ModelCache<ITransformer>;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("ModelCaching.ML.PredictionPool");
        _poolIndex = EngineCell.AcquirePoolIndex();
        _factory = new EngineFactory<TData, TPrediction>(cache.Name, context, settings, _logger, _poolIndex);
        _countedHits = _modelCache?.CountedHits;
        _countedHits?.AddSource(_factory.HitCounts);

        // Retire the old generation's engines as soon as the cache swaps, not at the next prediction, so their
        // lease on the old model ends and the cache can dispose it.
        _cache.Reloaded += OnReloaded;
        _cache.Unloaded += OnUnloaded;
        PredictionPoolMetrics.Register(this);
    }

    /// <summary>The name of the model, for the pools' metrics (callers read <see cref="Cache"/>'s name).</summary>
    string PredictionPoolMetrics.IPoolMetricsSource.ModelName => _cache.Name;

    /// <summary>The cache the model comes from.</summary>
    public IModelCache<ITransformer> Cache => _cache;

    /// <summary>How many engines the pool keeps per model generation (internal: it repeats <see cref="PredictionPoolOptions"/>).</summary>
    internal int MaximumEngines => _factory.MaximumEngines;

    /// <summary>What a prediction does when every engine is in use.</summary>
    internal PoolExhaustionPolicy Policy => _factory.Policy;

    /// <summary>How long a prediction waits for an engine under <see cref="PoolExhaustionPolicy.Wait"/>.</summary>
    internal TimeSpan WaitTimeout => _factory.WaitTimeout;

    /// <summary>Predicts one example; the result is a new object (made by the pool with its constructor, filled by the engine).</summary>
    /// <exception cref="ModelLoadException">No model is serving and loading failed.</exception>
    /// <exception cref="TimeoutException">Under <see cref="PoolExhaustionPolicy.Wait"/>, no engine came back in time.</exception>
    public TPrediction Predict(TData input)
    {
        ArgumentNullException.ThrowIfNull(input); // before renting: a bad argument must not cost an engine

        // The fast path: the engine this thread kept from its last prediction on the generation serving now, with no
        // atomic operation and no processor id (see EngineCell). Other threads and other generations use the slots.
        EngineCell? cell = EngineCell.Get(_poolIndex);
        if (cell is not null && cell.InUse == 0 && KeptGeneration(cell) is { } generation && generation.TryEnter(cell, out PredictionEngine<TData, TPrediction>? engine))
        {
            TPrediction result;
            try
            {
                // Made here rather than before the checks above: measured slower there (the outside loop, four
                // processes each way). A constructor that throws faults the kept engine, as a throwing Predict does.
                result = _newPrediction();
                engine.Predict(input, ref result);
            }
            catch
            {
                generation.Fault(cell);
                throw;
            }

            generation.Exit(cell);
            return result;
        }

        // Off the fast path the object is made before an engine is taken: a constructor that throws costs none there.
        TPrediction pooled = _newPrediction();
        PredictPooled(input, ref pooled);
        return pooled;
    }

    /// <summary>
    /// Predicts one example into <paramref name="output"/>, reusing it and its arrays: no allocation at all
    /// once <paramref name="output"/> exists. When <paramref name="output"/> is <see langword="null"/> a new
    /// object is created and assigned.
    /// </summary>
    public void Predict(TData input, ref TPrediction output)
    {
        ArgumentNullException.ThrowIfNull(input); // before renting: a bad argument must not cost an engine
        output ??= _newPrediction();
        EngineCell? cell = EngineCell.Get(_poolIndex);
        if (cell is not null && cell.InUse == 0 && KeptGeneration(cell) is { } generation && generation.TryEnter(cell, out PredictionEngine<TData, TPrediction>? engine))
        {
            try
            {
                engine.Predict(input, ref output);
            }
            catch
            {
                generation.Fault(cell);
                throw;
            }

            generation.Exit(cell);
            return;
        }

        PredictPooled(input, ref output);
    }

    /// <summary>
    /// Predicts many examples with one engine rented once: <c>outputs[i]</c> receives the prediction for
    /// <c>inputs[i]</c>; existing output objects are reused, <see langword="null"/> ones are created.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="outputs"/> is shorter than <paramref name="inputs"/>.</exception>
    public void Predict(ReadOnlySpan<TData> inputs, Span<TPrediction> outputs)
    {
        if (outputs.Length < inputs.Length)
        {
            throw new ArgumentException($"The outputs ({outputs.Length}) must be at least as many as the inputs ({inputs.Length}).", nameof(outputs));
        }

        if (inputs.IsEmpty)
        {
            return;
        }

        EngineGeneration<TData, TPrediction> generation = CurrentGeneration();
        PooledEngine<TData, TPrediction> pooled = generation.TryRentFast() ?? RentSlow(ref generation);
        try
        {
            PredictionEngine<TData, TPrediction> engine = pooled.Engine;
            for (int i = 0; i < inputs.Length; i++)
            {
                ref TPrediction output = ref outputs[i];
                output ??= _newPrediction();
                engine.Predict(inputs[i], ref output);
            }
        }
        catch
        {
            generation.Drop(pooled);
            throw;
        }

        generation.Return(pooled);
    }

    /// <summary>
    /// Rents an engine of the serving generation for callers that need the engine itself. Dispose the lease
    /// exactly once (a <see langword="using"/> statement does); do not use the engine afterwards.
    /// </summary>
    public PredictionEngineLease<TData, TPrediction> Rent()
    {
        EngineGeneration<TData, TPrediction> generation = CurrentGeneration();
        PooledEngine<TData, TPrediction> pooled = generation.TryRentFast(out int slot) ?? RentSlow(ref generation);

        // The engine is ours alone now: the count read here is the one its return must advance.
        return new PredictionEngineLease<TData, TPrediction>(pooled, pooled.Returns, slot);
    }

    /// <summary>Where this pool's cell sits in each thread's cells (for tests and benchmarks of the pool's parts).</summary>
    internal int PoolIndex => _poolIndex;

    /// <summary>The generation serving now, if any (for benchmarks of the pool's parts).</summary>
    internal EngineGeneration<TData, TPrediction>? ServingGeneration => _generation;

    /// <summary>Engines alive in the generation serving now (for tests: every other generation's are disposed).</summary>
    internal int CurrentGenerationLiveEngines => _generation?.LiveEngines ?? 0;

    /// <summary>A snapshot of the pool's counters.</summary>
    public PredictionPoolStatistics GetStatistics() => new()
    {
        EnginesCreated = _factory.Created,
        EnginesDisposed = _factory.Disposed,
        EnginesFaulted = _factory.Faulted,
        ExtraEnginesCreated = _factory.Extra,
        Waits = _factory.Waits,
        Generations = Interlocked.Read(ref _generations),
    };

    /// <summary>Disposes the idle engines; engines in use are disposed when they come back. The cache is not disposed.</summary>
    public void Dispose()
    {
        EngineGeneration<TData, TPrediction>? generation;
        lock (_swapLock)
        {
            if (_isDisposed)
            {
                return;
            }

            _isDisposed = true;
            generation = _generation;
            _generation = null;
        }

        _cache.Reloaded -= OnReloaded;
        _cache.Unloaded -= OnUnloaded;
        PredictionPoolMetrics.Unregister(this);
        generation?.Retire();

        // After the retirement folded the cells' counts: the hits stay in the cache's count.
        _countedHits?.RemoveSource(_factory.HitCounts);

        // After the retirement, which revoked every thread's cell of this pool: the next pool at this index replaces them.
        EngineCell.ReleasePoolIndex(_poolIndex);
    }

    /// <inheritdoc />
    public override string ToString() => $"PredictionPool<{typeof(TData).Name}, {typeof(TPrediction).Name}> '{_cache.Name}'";

    /// <summary>Rents a raw engine (for the Microsoft.Extensions.ML compatible API); return it with <see cref="ReturnEngine"/>.</summary>
    internal PredictionEngine<TData, TPrediction> RentEngine()
    {
        EngineGeneration<TData, TPrediction> generation = CurrentGeneration();
        PooledEngine<TData, TPrediction> pooled = generation.TryRentFast() ?? RentSlow(ref generation);
        Volatile.Write(ref pooled.RentedRaw, 1);
        return pooled.Engine;
    }

    /// <summary>Returns a raw engine to the generation it came from.</summary>
    /// <exception cref="ArgumentException">The engine was not rented from this pool.</exception>
    internal void ReturnEngine(PredictionEngine<TData, TPrediction> engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (!_factory.TryGetPooled(engine, out PooledEngine<TData, TPrediction>? pooled))
        {
            throw new ArgumentException($"This PredictionEngine was not rented from the pool of model '{_cache.Name}'.", nameof(engine));
        }

        // A second return would hand one (not thread-safe) engine to two callers. This path is the
        // Microsoft.Extensions.ML-compatible one, where engines are returned by hand; a scan of the few slots is cheap.
        if (Interlocked.CompareExchange(ref pooled.RentedRaw, 0, 1) != 1 || pooled.Generation.IsIdle(pooled))
        {
            throw new InvalidOperationException($"This PredictionEngine of model '{_cache.Name}' was already returned; return each rented engine once.");
        }

        pooled.Generation.Return(pooled);
    }

    /// <summary>
    /// A prediction off the fast path, into <paramref name="output"/> (made already): the cache hit (or miss) through
    /// <c>GetModel()</c>, then the engine this thread kept when its cell does not count hits, or the slots (this thread
    /// keeps no engine of this generation, or is using it).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PredictPooled(TData input, ref TPrediction output)
    {
        EngineGeneration<TData, TPrediction> generation = CurrentGeneration();
        EngineCell? cell = EngineCell.Get(_poolIndex);
        if (_countedHits is null && cell is not null && cell.GenerationId == generation.Id && cell.InUse == 0 && generation.TryEnter(cell, out PredictionEngine<TData, TPrediction>? engine))
        {
            try
            {
                engine.Predict(input, ref output);
            }
            catch
            {
                generation.Fault(cell);
                throw;
            }

            generation.Exit(cell);
            return;
        }

        PooledEngine<TData, TPrediction> pooled = generation.TryRentFast(out int slot) ?? RentSlow(ref generation);
        try
        {
            pooled.Engine.Predict(input, ref output);
        }
        catch
        {
            generation.Drop(pooled);
            throw;
        }

        generation.ReturnOrKeep(pooled, slot);
    }
}
