using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using ModelCaching.ML;

namespace ModelCaching.Benchmarks.Prediction;

/// <summary>
/// Where a pooled prediction's overhead goes, one thread, without the prediction itself: the cache hit that finds
/// the serving generation, the per-core slot path (processor id + one exchange to rent + one to return), the
/// thread-kept engine path (a thread-static read and plain writes), and a lease (<c>Rent()</c> + <c>Dispose()</c>).
/// Each operation is repeated <see cref="Calls"/> times per invocation so that its nanoseconds are resolved.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class PredictionPoolAnatomyBenchmarks
{
    private const int Calls = 1_000;

    private ModelCache<ITransformer> _cache = null!;
    private PredictionPool<IrisData, IrisPrediction> _pool = null!;
    private int _poolIndex;
    private EngineGeneration<IrisData, IrisPrediction> _generation = null!;
    private object? _slot;
    private int _sink;

    // Synchronous: the thread that runs the setup must be the one that runs the benchmarks, for it keeps the engine.
    [GlobalSetup]
    public void Setup()
    {
        var context = new MLContext(seed: 1);
        _cache = new ModelCache<ITransformer>("iris", new ModelOptions<ITransformer> { Source = new FileModelSource(IrisData.ModelPath), Loader = new MLNetModelLoader(context) });
        _cache.GetModel();
        _pool = new PredictionPool<IrisData, IrisPrediction>(_cache, context);

        // This thread keeps one engine (its cell); a lease puts a second one in the slots.
        _pool.Predict(IrisData.Virginica);
        _pool.Predict(IrisData.Virginica);
        _pool.Rent().Dispose();
        _generation = _pool.ServingGeneration!;
        _poolIndex = _pool.PoolIndex;
        if (EngineCell.Get(_poolIndex) is not { } cell || cell.GenerationId != _generation.Id)
        {
            throw new InvalidOperationException("The benchmark thread keeps no engine: the fast path would not be measured.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        _cache.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Calls, Description = "cache hit: GetModel() (finds the serving generation)")]
    public void CacheHit()
    {
        ModelCache<ITransformer> cache = _cache;
        for (int i = 0; i < Calls; i++)
        {
            _ = cache.GetModel();
        }
    }

    [Benchmark(OperationsPerInvoke = Calls, Description = "Thread.GetCurrentProcessorId()")]
    public void ProcessorId()
    {
        int sum = 0;
        for (int i = 0; i < Calls; i++)
        {
            sum += Thread.GetCurrentProcessorId();
        }

        _sink = sum;
    }

    [Benchmark(OperationsPerInvoke = Calls, Description = "two Interlocked.Exchange on an uncontended line")]
    public void TwoExchanges()
    {
        object marker = this;
        for (int i = 0; i < Calls; i++)
        {
            object? taken = Interlocked.Exchange(ref _slot, null);
            Interlocked.Exchange(ref _slot, taken ?? marker);
        }
    }

    [Benchmark(OperationsPerInvoke = Calls, Description = "[ThreadStatic] read (this thread's cell of the pool)")]
    public void ThreadStaticRead()
    {
        int sum = 0;
        for (int i = 0; i < Calls; i++)
        {
            sum += EngineCell.Get(_poolIndex) is null ? 0 : 1;
        }

        _sink = sum;
    }

    [Benchmark(OperationsPerInvoke = Calls, Description = "slot path: rent + return (processor id, 2 exchanges)")]
    public void SlotRentReturn()
    {
        EngineGeneration<IrisData, IrisPrediction> generation = _generation;
        for (int i = 0; i < Calls; i++)
        {
            PooledEngine<IrisData, IrisPrediction> engine = generation.TryRentFast(out int slot) ?? generation.RentSlow()!;
            generation.Return(engine, slot);
        }
    }

    [Benchmark(OperationsPerInvoke = Calls, Description = "thread-kept path: enter + exit (no atomic operation)")]
    public void KeptEnterExit()
    {
        EngineGeneration<IrisData, IrisPrediction> generation = _generation;
        EngineCell cell = EngineCell.Get(_poolIndex)!;
        int sum = 0;
        for (int i = 0; i < Calls; i++)
        {
            EngineCell? current = EngineCell.Get(_poolIndex);
            if (current is not null && current.GenerationId == generation.Id && current.InUse == 0 && generation.TryEnter(current, out _))
            {
                sum++;
                generation.Exit(current);
            }
        }

        _sink = sum + cell.Index;
    }

    [Benchmark(OperationsPerInvoke = Calls, Description = "lease: Rent() + Dispose()")]
    public void LeaseRentDispose()
    {
        PredictionPool<IrisData, IrisPrediction> pool = _pool;
        for (int i = 0; i < Calls; i++)
        {
            pool.Rent().Dispose();
        }
    }
}
