using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;

namespace ModelCaching.OutsideBenchmarks;

/// <summary>
/// The benchmark a user writes to compare the pool with a raw engine: BenchmarkDotNet's default job, one raw
/// <see cref="PredictionEngine{TSrc, TDst}"/> as the baseline, the compatible
/// <c>PredictionEnginePool.Predict(name, input)</c> and the native <see cref="PredictionPool{TData, TPrediction}"/>'s
/// <c>Predict(input)</c> (registered with <c>AddModelCache().AddModel&lt;ITransformer&gt;(...).WithPredictionPool&lt;,&gt;()</c>)
/// beside it. <see cref="CheckInSetup"/> = true is the setup that
/// loads asynchronously and checks one prediction of each way before timing (the check runs on a thread-pool thread
/// after the <c>await</c>, not on the thread that runs the benchmark).
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
public class PoolVsRawBenchmarks
{
    private const string ModelName = "iris";
    private const string NativeName = "iris-native";

    private ServiceProvider _services = null!;
    private PredictionEnginePool<IrisData, IrisPrediction> _pool = null!;
    private PredictionPool<IrisData, IrisPrediction> _native = null!;
    private PredictionEngine<IrisData, IrisPrediction> _engine = null!;
    private IrisData _input = null!;

    [Params(false, true)]
    public bool CheckInSetup { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var context = new MLContext(seed: 1);
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(ModelName, IrisData.ModelPath, watchForChanges: false);
        services.AddModelCache().AddModel<ITransformer>(NativeName, m => m.FromFile(IrisData.ModelPath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>());
        _services = services.BuildServiceProvider();
        _pool = _services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        _native = _services.GetRequiredKeyedService<PredictionPool<IrisData, IrisPrediction>>(NativeName);
        _engine = context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(context.Model.Load(IrisData.ModelPath, out _));
        _input = IrisData.Virginica;
        if (CheckInSetup)
        {
            await Task.Yield(); // as after loading something asynchronously: the rest runs on a thread-pool thread
            Check(_engine.Predict(_input), "raw engine");
            Check(_pool.Predict(ModelName, _input), "pool");
            Check(_native.Predict(_input), "native pool");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _engine.Dispose();
        await _services.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw PredictionEngine.Predict(input)")]
    public IrisPrediction Raw() => _engine.Predict(_input);

    [Benchmark(Description = "PredictionEnginePool.Predict(name, input)")]
    public IrisPrediction Pool() => _pool.Predict(ModelName, _input);

    [Benchmark(Description = "PredictionPool.Predict(input)")]
    public IrisPrediction Native() => _native.Predict(_input);

    private static void Check(IrisPrediction prediction, string what)
    {
        if (prediction.PredictedLabel != 2f)
        {
            throw new InvalidOperationException($"The {what} predicted {prediction.PredictedLabel}, not 2: the ways would do different work.");
        }
    }
}
