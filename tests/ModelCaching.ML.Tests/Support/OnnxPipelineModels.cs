using Microsoft.ML;
using Microsoft.ML.Data;

namespace ModelCaching.ML.Tests.Support;

/// <summary>
/// ML.NET pipelines around breast-cancer-multiclass.onnx (<c>ApplyOnnxModel</c>), saved as zips: models whose
/// OnnxTransformer holds a native InferenceSession that an owning engine would dispose under the others.
/// </summary>
public static class OnnxPipelineModels
{
    /// <summary>Saves a pipeline zip at <paramref name="path"/>; <paramref name="withLabel"/> adds an output, so the two variants differ in bytes.</summary>
    public static void Save(MLContext context, string path, bool withLabel)
    {
        string[] outputs = withLabel ? ["Score.onnx", "PredictedLabel.onnx"] : ["Score.onnx"];
        IDataView data = context.Data.LoadFromEnumerable([OnnxCancerInput.Sample]);
        ITransformer model = context.Transforms.ApplyOnnxModel(outputs, ["Label", "Features"], TestModels.OnnxPath).Fit(data);
        context.Model.Save(model, data.Schema, path);
        (model as IDisposable)?.Dispose();
    }
}

public class OnnxCancerInput
{
    [VectorType(1)]
    public string[] Label = ["0"];

    [VectorType(8)]
    public float[] Features = new float[8];

    public static OnnxCancerInput Sample => new() { Features = [5f, 1f, 1f, 1f, 2f, 1f, 3f, 1f] };
}

public class OnnxCancerPrediction
{
    [ColumnName("Score.onnx")]
    public float[] Score = [];
}
