using Microsoft.ML.OnnxRuntime;
using ModelCaching.Onnx;

namespace ModelCaching.Benchmarks.Onnx;

/// <summary>The real ONNX model (breast-cancer-multiclass.onnx) and one example for it.</summary>
internal static class OnnxSample
{
    public const string Label = "0";

    public static string ModelPath { get; } = Path.Combine(AppContext.BaseDirectory, "TestModels", "breast-cancer-multiclass.onnx");

    public static readonly float[] Features = [5f, 1f, 1f, 1f, 2f, 1f, 3f, 1f];

    public static readonly string[] InputNames = ["Label", "Features"];

    public static readonly string[] OutputNames = ["Score.onnx"];

    /// <summary>A cache over the model, loaded, with or without the warm-up run.</summary>
    public static ModelCache<OnnxModel> CreateCache(string path, bool warmUp = true)
    {
        var options = new ModelOptions<OnnxModel> { Source = new FileModelSource(path), DrainDelay = TimeSpan.Zero, TrackHits = false }
            .UseOnnxRuntime("cancer", new OnnxRuntimeOptions { IntraOpThreads = 1, WarmUp = warmUp });
        var cache = new ModelCache<OnnxModel>("cancer", options);
        cache.GetModelAsync().AsTask().GetAwaiter().GetResult();
        return cache;
    }

    public static SessionOptions RawSessionOptions() => new() { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
}
