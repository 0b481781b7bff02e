using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML;
using ModelCaching.ML.Compatibility;

namespace ModelCaching.OutsideBenchmarks;

/// <summary>
/// The benchmark a user writes to compare the pool with a raw engine: one raw <see cref="PredictionEngine{TSrc, TDst}"/>
/// as the baseline, the compatible <c>PredictionEnginePool.Predict(name, input)</c> and the native
/// <see cref="PredictionPool{TData, TPrediction}"/>'s <c>Predict(input)</c> (registered with
/// <c>AddModelCache().AddModel&lt;ITransformer&gt;(...).WithPredictionPool&lt;,&gt;()</c>) beside it, and the raw engine a
/// second time as a control: the ratio the harness itself gives for identical code.
/// </summary>
/// <remarks>
/// <para>
/// Why the job and set-up look as they do (the same code once measured 0.57× to 2.47× the raw engine; docs/pooling.md,
/// "Measured from outside"): BenchmarkDotNet runs each case in a process of its own, one after another, and divides one
/// process's wall-clock mean by another's. Whatever differs between those processes lands in the ratio: the load of the
/// machine at that minute, and what the JIT made of ML.NET's code in that process. So:
/// </para>
/// <list type="bullet">
/// <item>every process builds and warms all three ways, the same way, on the benchmark's own thread and on a thread-pool
/// thread (an async set-up's continuation), so the JIT state and the pools' per-thread engines are the same whichever
/// case the process measures;</item>
/// <item>three launches per case: a ratio rests on three processes each side, not one;</item>
/// <item>iterations are timed by the benchmark thread's CPU time (<see cref="ThreadCpuClock"/>), not the wall clock: a case
/// whose process ran while the machine was busy no longer measures the wait for a core (on the shared 2-core machine
/// the raw engine's median moved 108–281 ns between processes of one run);</item>
/// <item>the control row (<see cref="RawAgain"/>) says how far the harness moved identical code in that run: a pool's
/// ratio is only read against it (a control off 1.00 by more than a few hundredths means the run was too noisy to judge).</item>
/// </list>
/// Not <c>[MemoryRandomization]</c>: it runs the global set-up again before every iteration, which rebuilds the container,
/// the pools and their engines and would put the engines' first calls (tier-0 code) inside the measurement.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class PoolVsRawBenchmarks
{
    private const string ModelName = "iris";
    private const string NativeName = "iris-native";

    // Enough calls of each way that ML.NET's code, the pool's and the call sites here reach their optimised code (the
    // first ~130,000 calls of an engine run at about 1 µs each, tier-0 code) before BenchmarkDotNet's pilot starts.
    private const int WarmupCalls = 300_000;

    private ServiceProvider _services = null!;
    private PredictionEnginePool<IrisData, IrisPrediction> _pool = null!;
    private PredictionPool<IrisData, IrisPrediction> _native = null!;
    private PredictionEngine<IrisData, IrisPrediction> _engine = null!;
    private IrisData _input = null!;

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

        // On the benchmark's thread (the part of an async set-up before its first await runs there).
        Warm();

        // As after loading something asynchronously: the rest runs on a thread-pool thread, which then keeps an engine
        // of each pool too (as a server's threads do); the benchmark's thread keeps its own.
        await Task.Yield();
        Check(_engine.Predict(_input), "raw engine");
        Check(_pool.Predict(ModelName, _input), "pool");
        Check(_native.Predict(_input), "native pool");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _engine.Dispose();
        await _services.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw PredictionEngine.Predict(input)")]
    public IrisPrediction Raw() => _engine.Predict(_input);

    [Benchmark(Description = "raw PredictionEngine.Predict(input), again (control)")]
    public IrisPrediction RawAgain() => _engine.Predict(_input);

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

    private void Warm()
    {
        for (int i = 0; i < WarmupCalls; i++)
        {
            Raw();
            RawAgain();
            Pool();
            Native();
        }
    }

    /// <summary>
    /// Three launches of each case, a fixed number of warm-up and measured iterations (about 12 s a launch on a quiet machine), timed by
    /// the benchmark thread's CPU time (<see cref="ThreadCpuClock"/>) where the system has one.
    /// </summary>
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            Job job = Job.Default.WithLaunchCount(3).WithWarmupCount(6).WithIterationCount(12);

            // OUTSIDE_CLOCK=wall keeps BenchmarkDotNet's own clock (for a quiet machine, to check that both agree).
            bool wall = Environment.GetEnvironmentVariable("OUTSIDE_CLOCK") == "wall" || !new ThreadCpuClock().IsAvailable;
            AddJob(wall ? job.WithId("WallClock") : job.WithClock(new ThreadCpuClock()).WithId("ThreadCpuTime"));

            // BenchmarkDotNet builds this program again for its processes; two minutes (its default) is not enough on a
            // busy 2-core machine.
            WithBuildTimeout(TimeSpan.FromMinutes(10));
        }
    }
}
