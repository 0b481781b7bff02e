using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using ModelCaching.Onnx;

namespace ModelCaching.Benchmarks.Onnx;

/// <summary>
/// The first typed call after a swap, with and without the warm-up run, against a steady call. Before each
/// measured call the file is replaced by the other of two versions and reloaded (not timed), so every measured call
/// is the first on a new session. Without warm-up that call pays ONNX Runtime's first run and building the runner.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 40, invocationCount: 1)]
public class OnnxWarmUpBenchmarks
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "modelcaching-onnx-warmup-" + Environment.ProcessId);
    private byte[][] _versions = null!;
    private string _coldPath = null!;
    private string _warmPath = null!;
    private ModelCache<OnnxModel> _cold = null!;
    private ModelCache<OnnxModel> _warm = null!;
    private int _swaps;
    private float _sink;

    [GlobalSetup]
    public void Setup()
    {
        Directory.CreateDirectory(_directory);
        byte[] original = File.ReadAllBytes(OnnxSample.ModelPath);

        // A second version with other bytes (a different producer-version string): the cache sees new content and swaps.
        byte[] other = (byte[])original.Clone();
        int index = other.AsSpan().IndexOf("machinelearning.dotnet"u8);
        other[index] = (byte)'M';
        _versions = [original, other];
        _coldPath = Path.Combine(_directory, "cold.onnx");
        _warmPath = Path.Combine(_directory, "warm.onnx");
        File.WriteAllBytes(_coldPath, original);
        File.WriteAllBytes(_warmPath, original);
        _cold = OnnxSample.CreateCache(_coldPath, warmUp: false);
        _warm = OnnxSample.CreateCache(_warmPath, warmUp: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cold.Dispose();
        _warm.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [IterationSetup(Target = nameof(FirstCallAfterSwapWithoutWarmUp))]
    public void SwapCold() => Swap(_cold, _coldPath);

    [IterationSetup(Target = nameof(FirstCallAfterSwapWithWarmUp))]
    public void SwapWarm() => Swap(_warm, _warmPath);

    [Benchmark(Baseline = true, Description = "first call after a swap, no warm-up")]
    public float FirstCallAfterSwapWithoutWarmUp() => Call(_cold);

    [Benchmark(Description = "first call after a swap, warmed up")]
    public float FirstCallAfterSwapWithWarmUp() => Call(_warm);

    [Benchmark(Description = "steady call (no swap)")]
    public float SteadyCall() => Call(_warm);

    private void Swap(ModelCache<OnnxModel> cache, string path)
    {
        File.WriteAllBytes(path, _versions[++_swaps & 1]);
        cache.ReloadAsync().GetAwaiter().GetResult();
    }

    private float Call(ModelCache<OnnxModel> cache)
    {
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", OnnxSample.Label);
        OnnxSample.Features.CopyTo(inference.Input<float>("Features"));
        inference.Run();
        _sink = inference.Output<float>("Score.onnx")[0];
        return _sink;
    }
}
