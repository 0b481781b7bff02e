using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelCaching.Onnx.Loading;

namespace ModelCaching.Onnx.Inference;

/// <summary>
/// What every runner of one session binds: all inputs, and the outputs asked for (or every numeric tensor output),
/// with dynamic dimensions resolved from <see cref="OnnxRuntimeOptions.TensorShapes"/> or set to 1. A model the typed
/// API cannot serve (a sequence input, a string output) gets a layout that says why, and the session stays usable directly.
/// </summary>
internal sealed class OnnxRunnerLayout
{
    private OnnxRunnerLayout(OnnxTensorLayout[] inputs, OnnxTensorLayout[] outputs, string? unsupportedReason)
    {
        Inputs = inputs;
        Outputs = outputs;
        UnsupportedReason = unsupportedReason;
    }

    public OnnxTensorLayout[] Inputs { get; }

    public OnnxTensorLayout[] Outputs { get; }

    /// <summary>Why the typed API cannot serve this model, or null.</summary>
    public string? UnsupportedReason { get; }

    public static OnnxRunnerLayout Create(OnnxSignature signature, OnnxRuntimeSettings settings)
    {
        var inputs = new List<OnnxTensorLayout>();
        foreach (OnnxTensorSpec input in signature.Inputs)
        {
            if (input.ValueType != OnnxValueType.ONNX_TYPE_TENSOR)
            {
                return Unsupported($"input '{input.Name}' is a {input.TypeText}, not a tensor");
            }

            inputs.Add(Resolve(input, settings));
        }

        var outputs = new List<OnnxTensorLayout>();
        if (settings.Outputs.Count == 0)
        {
            foreach (OnnxTensorSpec output in signature.Outputs)
            {
                if (output.ValueType == OnnxValueType.ONNX_TYPE_TENSOR && output.ElementType != TensorElementType.String)
                {
                    outputs.Add(Resolve(output, settings));
                }
            }
        }
        else
        {
            foreach (string name in settings.Outputs)
            {
                OnnxTensorSpec? output = null;
                foreach (OnnxTensorSpec candidate in signature.Outputs)
                {
                    if (string.Equals(candidate.Name, name, StringComparison.Ordinal))
                    {
                        output = candidate;
                    }
                }

                if (output is null)
                {
                    return Unsupported($"OnnxRuntimeOptions.Outputs names '{name}', which is not an output of the model (its outputs: {string.Join(", ", signature.Outputs.Select(static o => o.Name))})");
                }

                if (output.ValueType != OnnxValueType.ONNX_TYPE_TENSOR || output.ElementType == TensorElementType.String)
                {
                    return Unsupported($"output '{name}' is a {output.TypeText}; the typed API reads numeric tensors");
                }

                outputs.Add(Resolve(output, settings));
            }
        }

        return new OnnxRunnerLayout([.. inputs], [.. outputs], null);
    }

    private static OnnxRunnerLayout Unsupported(string reason) => new([], [], reason);

    private static OnnxTensorLayout Resolve(OnnxTensorSpec spec, OnnxRuntimeSettings settings)
    {
        if (settings.TensorShapes.TryGetValue(spec.Name, out long[]? configured))
        {
            return new OnnxTensorLayout(spec.Name, spec.ElementType, configured);
        }

        var shape = new long[spec.Shape.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            shape[i] = spec.Shape[i] > 0 ? spec.Shape[i] : 1;
        }

        return new OnnxTensorLayout(spec.Name, spec.ElementType, shape);
    }
}
