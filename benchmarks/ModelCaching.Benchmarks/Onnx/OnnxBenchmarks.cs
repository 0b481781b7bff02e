using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using ModelCaching.Benchmarks.Concurrency;
using ModelCaching.Onnx;

namespace ModelCaching.Benchmarks.Onnx;

/// <summary>
/// One breast-cancer-multiclass.onnx inference (8 features in, 10 scores out), on 1 and 2 threads at once: ONNX
/// Runtime's own <c>session.Run</c> on a session held by the caller (the baseline), the same call through the cache
/// under a lease, and the typed API (<c>cache.Rent()</c>: pooled runner, bound pinned buffers, <c>RunWithBinding</c>).
/// Times are per inference on each thread. Budget (issue 12): ≤ 1.05× raw and fewer bytes than raw. The typed rows
/// include the checks of issue 17 (rental token on every member, inputs written in this rental, length of SetInput).
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class OnnxBenchmarks
{
    private const int Calls = 1_000;

    private readonly float[] _sinks = new float[64];
    private InferenceSession _session = null!;
    private ModelCache<OnnxModel> _cache = null!;
    private RawInputs[] _inputs = null!;
    private ParallelLoopRunner _runner = null!;
    private Action<int> _raw = null!;
    private Action<int> _leased = null!;
    private Action<int> _typed = null!;
    private Action<int> _typedSetInput = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using SessionOptions options = OnnxSample.RawSessionOptions();
        _session = new InferenceSession(OnnxSample.ModelPath, options);
        _cache = OnnxSample.CreateCache(OnnxSample.ModelPath);
        _inputs = [.. Enumerable.Range(0, Threads).Select(static _ => new RawInputs())];
        _runner = new ParallelLoopRunner(Threads);
        _raw = RawLoop;
        _leased = LeasedLoop;
        _typed = TypedLoop;
        _typedSetInput = TypedSetInputLoop;

        // Every way must give the same answer before it is timed.
        float expected = _inputs[0].Run(_session);
        _typed(0);
        Require(_sinks[0] == expected, "typed API");
        _leased(0);
        Require(_sinks[0] == expected, "session under a lease");
        _typedSetInput(0);
        Require(_sinks[0] == expected, "typed API with SetInput");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _runner.Dispose();
        foreach (RawInputs inputs in _inputs)
        {
            inputs.Dispose();
        }

        _cache.Dispose();
        _session.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Calls, Description = "raw session.Run (caller-held session)")]
    public void RawSessionRun() => _runner.Run(_raw);

    [Benchmark(OperationsPerInvoke = Calls, Description = "cache.Acquire() + lease.Model.Session.Run")]
    public void SessionRunUnderLease() => _runner.Run(_leased);

    [Benchmark(OperationsPerInvoke = Calls, Description = "typed API: cache.Rent() + Run()")]
    public void TypedApi() => _runner.Run(_typed);

    [Benchmark(OperationsPerInvoke = Calls, Description = "typed API: cache.Rent() + SetInput + Run()")]
    public void TypedApiSetInput() => _runner.Run(_typedSetInput);

    private void RawLoop(int thread)
    {
        RawInputs inputs = _inputs[thread];
        float last = 0;
        for (int i = 0; i < Calls; i++)
        {
            last = inputs.Run(_session);
        }

        _sinks[thread * 16] = last;
    }

    private void LeasedLoop(int thread)
    {
        RawInputs inputs = _inputs[thread];
        float last = 0;
        for (int i = 0; i < Calls; i++)
        {
            using ModelLease<OnnxModel> lease = _cache.Acquire();
            last = inputs.Run(lease.Model.Session);
        }

        _sinks[thread * 16] = last;
    }

    private void TypedLoop(int thread)
    {
        ModelCache<OnnxModel> cache = _cache;
        float[] features = OnnxSample.Features;
        float last = 0;
        for (int i = 0; i < Calls; i++)
        {
            using OnnxInference inference = cache.Rent();
            inference.SetString("Label", OnnxSample.Label);
            features.CopyTo(inference.Input<float>("Features"));
            inference.Run();
            last = inference.Output<float>("Score.onnx")[0];
        }

        _sinks[thread * 16] = last;
    }

    private void TypedSetInputLoop(int thread)
    {
        ModelCache<OnnxModel> cache = _cache;
        float[] features = OnnxSample.Features;
        float last = 0;
        for (int i = 0; i < Calls; i++)
        {
            using OnnxInference inference = cache.Rent();
            inference.SetString("Label", OnnxSample.Label);
            inference.SetInput<float>("Features", features);
            inference.Run();
            last = inference.Output<float>("Score.onnx")[0];
        }

        _sinks[thread * 16] = last;
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"{what} gave another answer than raw session.Run.");
        }
    }
}
