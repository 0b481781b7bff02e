using Microsoft.ML.OnnxRuntime;

namespace ModelCaching.Benchmarks.Onnx;

/// <summary>
/// What a careful hand-written caller keeps per thread for <c>session.Run</c>: the input <see cref="OrtValue"/>s over
/// reused buffers, the name lists and run options, so that the baseline is ONNX Runtime's own cost, not the caller's.
/// </summary>
internal sealed class RawInputs : IDisposable
{
    public RawInputs()
    {
        Label = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, [1, 1]);
        Features = OrtValue.CreateTensorValueFromMemory(FeatureBuffer, [1, 8]);
        Values = [Label, Features];
    }

    public float[] FeatureBuffer { get; } = new float[8];

    public OrtValue Label { get; }

    public OrtValue Features { get; }

    public OrtValue[] Values { get; }

    public RunOptions RunOptions { get; } = new();

    /// <summary>Writes the example, runs <paramref name="session"/> and returns the first score.</summary>
    public float Run(InferenceSession session)
    {
        Label.StringTensorSetElementAt(OnnxSample.Label.AsSpan(), 0);
        OnnxSample.Features.CopyTo(FeatureBuffer, 0);
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(RunOptions, OnnxSample.InputNames, Values, OnnxSample.OutputNames);
        return results[0].GetTensorDataAsSpan<float>()[0];
    }

    public void Dispose()
    {
        Label.Dispose();
        Features.Dispose();
        RunOptions.Dispose();
    }
}
