using BenchmarkDotNet.Attributes;
using ModelCaching.Onnx;

namespace ModelCaching.Benchmarks.Onnx;

/// <summary>
/// The typed API's bookkeeping without the inference: rent a runner, write the 8 features through <c>Input&lt;float&gt;</c>,
/// dispose; against a lease alone. Run on the code before and after issue 17 (rental token checked on every member, the
/// input cleared on its first use in a rental and marked written), it resolves the cost of those checks, which an
/// inference of ~10 µs hides. Single-threaded.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class OnnxRentalBenchmarks
{
    private ModelCache<OnnxModel> _cache = null!;

    [GlobalSetup]
    public void Setup() => _cache = OnnxSample.CreateCache(OnnxSample.ModelPath);

    [GlobalCleanup]
    public void Cleanup() => _cache.Dispose();

    [Benchmark(Baseline = true, Description = "cache.Acquire() + Dispose (a lease alone)")]
    public OnnxModel Lease()
    {
        using ModelLease<OnnxModel> lease = _cache.Acquire();
        return lease.Model;
    }

    [Benchmark(Description = "cache.Rent() + 8 floats into Input<float> + Dispose (no Run)")]
    public float RentWriteDispose()
    {
        using OnnxInference inference = _cache.Rent();
        Span<float> features = inference.Input<float>("Features");
        OnnxSample.Features.CopyTo(features);
        return features[0];
    }
}
