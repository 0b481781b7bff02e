using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelCaching.Onnx.Inference;

/// <summary>The name, element type and concrete shape (dynamic dimensions resolved) of one tensor a runner binds.</summary>
internal sealed record OnnxTensorLayout(string Name, TensorElementType ElementType, long[] Shape)
{
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long dimension in Shape)
            {
                count *= dimension;
            }

            return count;
        }
    }
}
