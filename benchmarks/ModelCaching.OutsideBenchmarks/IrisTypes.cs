namespace ModelCaching.OutsideBenchmarks;

/// <summary>iris.zip's input (TestModels/README.md).</summary>
public sealed class IrisData
{
    public float Label;
    public float SepalLength;
    public float SepalWidth;
    public float PetalLength;
    public float PetalWidth;

    public static IrisData Virginica => new() { SepalLength = 6.7f, SepalWidth = 3.0f, PetalLength = 5.2f, PetalWidth = 2.3f };

    public static string ModelPath { get; } = Path.Combine(AppContext.BaseDirectory, "TestModels", "iris.zip");
}

/// <summary>iris.zip's output.</summary>
public sealed class IrisPrediction
{
    public float[] Score = [];
    public float PredictedLabel;
}
