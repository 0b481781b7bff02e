using Microsoft.ML.OnnxRuntime;

namespace ModelCaching.Onnx.Tests.Support;

/// <summary>The real model of ../shared/models (copied next to the tests) and versions of it made by editing its protobuf.</summary>
public static class TestModels
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "TestModels");

    public static string OnnxPath { get; } = Path.Combine(Directory, "breast-cancer-multiclass.onnx");

    public static string IrisZipPath { get; } = Path.Combine(Directory, "iris.zip");

    /// <summary>The original model (ML.NET's export of a logistic regression over 8 features, 10 classes).</summary>
    public static byte[] Version1 { get; } = File.ReadAllBytes(OnnxPath);

    /// <summary>The same graph and signature with the LinearClassifier's coefficients negated and shifted: other scores.</summary>
    public static byte[] Version2 { get; } = OnnxModelEditor.WithAttributeFloats(Version1, "coefficients", static w => (-w) + 0.25f);

    /// <summary>The same model with the output <c>Score.onnx</c> renamed: a signature change.</summary>
    public static byte[] RenamedScore { get; } = OnnxModelEditor.WithRenamedTensor(Version1, "Score.onnx", "Scare.onnx");

    /// <summary>One example: the eight features of a breast-cancer sample and its label.</summary>
    public static readonly float[] Features = [5f, 1f, 1f, 1f, 2f, 1f, 3f, 1f];

    public const string Label = "0";

    /// <summary>Scores of <see cref="Features"/> computed with a plain session and <c>Run</c>: the oracle for the typed API.</summary>
    public static float[] RawScores(byte[] model) => RawScores(model, Features);

    /// <summary>Scores of <paramref name="features"/> (eight values) computed with a plain session and <c>Run</c>.</summary>
    public static float[] RawScores(byte[] model, float[] features)
    {
        using var session = new InferenceSession(model);
        using OrtValue label = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, [1, 1]);
        label.StringTensorSetElementAt(Label.AsSpan(), 0);
        using OrtValue featureValue = OrtValue.CreateTensorValueFromMemory((float[])features.Clone(), [1, 8]);
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(new RunOptions(), ["Label", "Features"], [label, featureValue], ["Score.onnx"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Random bytes (seeded): not a model.</summary>
    public static byte[] RandomBytes()
    {
        var bytes = new byte[1024];
        new Random(12).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The first half of the real model: a truncated copy.</summary>
    public static byte[] Truncated() => Version1[..(Version1.Length / 2)];

    public static byte[] MLNetZip() => File.ReadAllBytes(IrisZipPath);
}
