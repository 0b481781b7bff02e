using Microsoft.Extensions.Time.Testing;

namespace ModelCaching.Onnx.Tests.Support;

/// <summary>Builds ONNX model caches over a model file without DI, on a fake clock, recording every model loaded.</summary>
public static class OnnxCaches
{
    public static ModelCache<OnnxModel> Create(string path, OnnxRuntimeOptions? onnx = null, RecordingLoader? recorder = null, string name = "cancer")
    {
        var options = new ModelOptions<OnnxModel>
        {
            Source = new FileModelSource(path),
            DrainDelay = TimeSpan.Zero,
            RetryBaseDelay = TimeSpan.Zero,
            FailureCooldown = TimeSpan.Zero,
        }.UseOnnxRuntime(name, onnx);
        if (recorder is not null)
        {
            recorder.Inner = options.Loader!;
            options.Loader = recorder;
        }

        // A fake clock: no retry or drain timer fires on its own; only the test's reloads happen.
        return new ModelCache<OnnxModel>(name, options, new FakeTimeProvider());
    }

    /// <summary>Runs the serving model once through the typed API and returns its scores.</summary>
    public static float[] Score(IModelCache<OnnxModel> cache)
    {
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", TestModels.Label);
        TestModels.Features.CopyTo(inference.Input<float>("Features"));
        inference.Run();
        return inference.Output<float>("Score.onnx").ToArray();
    }
}
