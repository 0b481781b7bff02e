using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;

namespace ModelCaching.Benchmarks.Prediction;

/// <summary>
/// One iris.zip prediction, served the ways an application can serve it, on 1 and 2 threads at once. Times are
/// per prediction on each thread, so with no interference the 2-thread figure equals the 1-thread one and
/// 2-thread throughput is twice the 1-thread one. Budgets (issue 13): pooled ≤ 1.05× a raw engine on 1 thread
/// with no allocation of its own, and <c>Predict(input, ref output)</c> faster than the raw allocating
/// <c>Predict</c>; ≥ 0.90× the throughput of one raw engine per thread on 2 threads; the drop-in
/// <c>Predict(name, input)</c> within 5 ns of the native pool; ≥ 4× faster than the ObjectPool +
/// ConditionalWeakTable pool of Microsoft.Extensions.ML on 2 threads. The short runs here are within the noise of a
/// shared machine: PredictionThroughputHarness measures the same ways over seconds.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class PredictionBenchmarks
{
    private const int FastCalls = 2_000;
    private const int EngineCalls = 20;
    private const int LoadCalls = 4;
    private const string ModelName = "iris";

    private readonly object?[] _sinks = new object?[64];
    private readonly object _engineLock = new();
    private MLContext _context = null!;
    private ITransformer _model = null!;
    private IrisData _input = null!;
    private PredictionLoopRunner _runner = null!;
    private PredictionEngine<IrisData, IrisPrediction>[] _rawEngines = null!;
    private IrisPrediction[] _outputs = null!;
    private PredictionEngine<IrisData, IrisPrediction> _sharedEngine = null!;
    private ModelCache<ITransformer> _cache = null!;
    private PredictionPool<IrisData, IrisPrediction> _pool = null!;
    private ServiceProvider _services = null!;
    private PredictionEnginePool<IrisData, IrisPrediction> _compatPool = null!;
    private ExtensionsMLStylePool _extensionsPool = null!;

    private Action<int> _raw = null!;
    private Action<int> _rawInto = null!;
    private Action<int> _rawWithHit = null!;
    private Action<int> _pooled = null!;
    private Action<int> _pooledInto = null!;
    private Action<int> _compat = null!;
    private Action<int> _locked = null!;
    private Action<int> _objectPool = null!;
    private Action<int> _newEngine = null!;
    private Action<int> _loadPerCall = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _context = new MLContext(seed: 1);
        _input = IrisData.Virginica;
        _runner = new PredictionLoopRunner(Threads);

        _cache = new ModelCache<ITransformer>(ModelName, new ModelOptions<ITransformer> { Source = new FileModelSource(IrisData.ModelPath), Loader = new MLNetModelLoader(_context) });
        _model = await _cache.GetModelAsync();
        _pool = new PredictionPool<IrisData, IrisPrediction>(_cache, _context);

        // Not owning the model, as the pool builds them: disposing them at cleanup must not dispose the cache's model.
        var notOwning = new PredictionEngineOptions { OwnsTransformer = false };
        _rawEngines = [.. Enumerable.Range(0, Threads).Select(_ => _context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(_model, notOwning))];
        _outputs = [.. Enumerable.Range(0, Threads).Select(_ => new IrisPrediction())];
        _sharedEngine = _context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(_model, notOwning);

        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = _context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(ModelName, IrisData.ModelPath, watchForChanges: false);
        _services = services.BuildServiceProvider();
        _compatPool = _services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        _extensionsPool = new ExtensionsMLStylePool(_context, ModelName, _model);
        _extensionsPool.Prime(ModelName, Threads);

        _raw = RawLoop;
        _rawInto = RawIntoLoop;
        _rawWithHit = RawWithHitLoop;
        _pooled = PooledLoop;
        _pooledInto = PooledIntoLoop;
        _compat = CompatLoop;
        _locked = LockedLoop;
        _objectPool = ObjectPoolLoop;
        _newEngine = NewEngineLoop;
        _loadPerCall = LoadPerCallLoop;

        // Every way must give the same answer before it is timed.
        Require(_pool.Predict(_input).PredictedLabel == 2f, "pooled");
        Require(_compatPool.Predict(ModelName, _input).PredictedLabel == 2f, "compatibility pool");
        Require(_extensionsPool.Predict(ModelName, _input).PredictedLabel == 2f, "ObjectPool + ConditionalWeakTable pool");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _runner.Dispose();
        _pool.Dispose();
        foreach (PredictionEngine<IrisData, IrisPrediction> engine in _rawEngines)
        {
            engine.Dispose();
        }

        _sharedEngine.Dispose();
        await _services.DisposeAsync();
        _cache.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = FastCalls, Description = "raw engine per thread, Predict(input)")]
    public void RawEngine() => _runner.Run(_raw);

    [Benchmark(OperationsPerInvoke = FastCalls, Description = "raw engine per thread, Predict(input, ref output)")]
    public void RawEngineIntoOutput() => _runner.Run(_rawInto);

    [Benchmark(OperationsPerInvoke = FastCalls, Description = "raw engine per thread + the cache hit a pooled call pays")]
    public void RawEngineWithCacheHit() => _runner.Run(_rawWithHit);

    [Benchmark(OperationsPerInvoke = FastCalls, Description = "PredictionPool.Predict(input)")]
    public void PooledPredict() => _runner.Run(_pooled);

    [Benchmark(OperationsPerInvoke = FastCalls, Description = "PredictionPool.Predict(input, ref output)")]
    public void PooledPredictIntoOutput() => _runner.Run(_pooledInto);

    [Benchmark(OperationsPerInvoke = FastCalls, Description = "ours, compatibility PredictionEnginePool.Predict(name, input)")]
    public void CompatibilityPredict() => _runner.Run(_compat);

    [Benchmark(OperationsPerInvoke = FastCalls, Description = "lock around one engine")]
    public void LockAroundOneEngine() => _runner.Run(_locked);

    [Benchmark(OperationsPerInvoke = FastCalls, Description = "ObjectPool + ConditionalWeakTable (Microsoft.Extensions.ML's way)")]
    public void ObjectPoolWithConditionalWeakTable() => _runner.Run(_objectPool);

    [Benchmark(OperationsPerInvoke = EngineCalls, Description = "new engine per call")]
    public void NewEnginePerCall() => _runner.Run(_newEngine);

    [Benchmark(OperationsPerInvoke = LoadCalls, Description = "load model + new engine per call")]
    public void LoadPerCall() => _runner.Run(_loadPerCall);

    private void RawLoop(int thread)
    {
        PredictionEngine<IrisData, IrisPrediction> engine = _rawEngines[thread];
        IrisPrediction? last = null;
        for (int i = 0; i < FastCalls; i++)
        {
            last = engine.Predict(_input);
        }

        _sinks[thread * 8] = last;
    }

    private void RawIntoLoop(int thread)
    {
        PredictionEngine<IrisData, IrisPrediction> engine = _rawEngines[thread];
        IrisPrediction output = _outputs[thread];
        for (int i = 0; i < FastCalls; i++)
        {
            engine.Predict(_input, ref output);
        }

        _sinks[thread * 8] = output;
    }

    private void RawWithHitLoop(int thread)
    {
        PredictionEngine<IrisData, IrisPrediction> engine = _rawEngines[thread];
        ModelCache<ITransformer> cache = _cache;
        IrisPrediction? last = null;
        for (int i = 0; i < FastCalls; i++)
        {
            _ = cache.GetModel();
            last = engine.Predict(_input);
        }

        _sinks[thread * 8] = last;
    }

    private void PooledLoop(int thread)
    {
        PredictionPool<IrisData, IrisPrediction> pool = _pool;
        IrisPrediction? last = null;
        for (int i = 0; i < FastCalls; i++)
        {
            last = pool.Predict(_input);
        }

        _sinks[thread * 8] = last;
    }

    private void PooledIntoLoop(int thread)
    {
        PredictionPool<IrisData, IrisPrediction> pool = _pool;
        IrisPrediction output = _outputs[thread];
        for (int i = 0; i < FastCalls; i++)
        {
            pool.Predict(_input, ref output);
        }

        _sinks[thread * 8] = output;
    }

    private void CompatLoop(int thread)
    {
        PredictionEnginePool<IrisData, IrisPrediction> pool = _compatPool;
        IrisPrediction? last = null;
        for (int i = 0; i < FastCalls; i++)
        {
            last = pool.Predict(ModelName, _input);
        }

        _sinks[thread * 8] = last;
    }

    private void LockedLoop(int thread)
    {
        IrisPrediction? last = null;
        for (int i = 0; i < FastCalls; i++)
        {
            lock (_engineLock)
            {
                last = _sharedEngine.Predict(_input);
            }
        }

        _sinks[thread * 8] = last;
    }

    private void ObjectPoolLoop(int thread)
    {
        ExtensionsMLStylePool pool = _extensionsPool;
        IrisPrediction? last = null;
        for (int i = 0; i < FastCalls; i++)
        {
            last = pool.Predict(ModelName, _input);
        }

        _sinks[thread * 8] = last;
    }

    private void NewEngineLoop(int thread)
    {
        IrisPrediction? last = null;
        for (int i = 0; i < EngineCalls; i++)
        {
            using PredictionEngine<IrisData, IrisPrediction> engine = _context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(_model);
            last = engine.Predict(_input);
        }

        _sinks[thread * 8] = last;
    }

    private void LoadPerCallLoop(int thread)
    {
        IrisPrediction? last = null;
        for (int i = 0; i < LoadCalls; i++)
        {
            ITransformer model = _context.Model.Load(IrisData.ModelPath, out _);
            using PredictionEngine<IrisData, IrisPrediction> engine = _context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(model);
            last = engine.Predict(_input);
        }

        _sinks[thread * 8] = last;
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"The {what} prediction is wrong; the benchmark would compare different work.");
        }
    }
}
