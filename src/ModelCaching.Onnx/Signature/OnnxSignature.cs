using Microsoft.ML.OnnxRuntime;

namespace ModelCaching.Onnx;

/// <summary>The inputs and outputs of an ONNX model: what a new version must keep so that callers still work.</summary>
public sealed class OnnxSignature
{
    /// <summary>Creates a signature from its inputs and outputs.</summary>
    public OnnxSignature(IEnumerable<OnnxTensorSpec> inputs, IEnumerable<OnnxTensorSpec> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        Inputs = [.. inputs];
        Outputs = [.. outputs];
    }

    /// <summary>The model's inputs, in the model's order.</summary>
    public IReadOnlyList<OnnxTensorSpec> Inputs { get; }

    /// <summary>The model's outputs, in the model's order.</summary>
    public IReadOnlyList<OnnxTensorSpec> Outputs { get; }

    /// <summary>Reads the signature of a loaded session.</summary>
    public static OnnxSignature FromSession(InferenceSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new OnnxSignature(Read(session.InputMetadata), Read(session.OutputMetadata));

        static IEnumerable<OnnxTensorSpec> Read(IReadOnlyDictionary<string, NodeMetadata> metadata)
        {
            foreach (KeyValuePair<string, NodeMetadata> node in metadata)
            {
                yield return OnnxTensorSpec.FromMetadata(node.Key, node.Value);
            }
        }
    }

    /// <summary>Finds the input or output of <paramref name="candidate"/> that breaks this signature, or returns <see langword="null"/>.</summary>
    internal (string Kind, string Tensor, string Expected, string Actual)? FindMismatch(OnnxSignature candidate)
    {
        foreach (OnnxTensorSpec expected in Inputs)
        {
            OnnxTensorSpec? actual = Find(candidate.Inputs, expected.Name);
            if (actual is null || !expected.HasSameType(actual))
            {
                return ("input", expected.Name, expected.TypeText, actual?.TypeText ?? "missing");
            }
        }

        foreach (OnnxTensorSpec actual in candidate.Inputs)
        {
            if (Find(Inputs, actual.Name) is null)
            {
                return ("input", actual.Name, "absent", actual.TypeText);
            }
        }

        foreach (OnnxTensorSpec expected in Outputs)
        {
            OnnxTensorSpec? actual = Find(candidate.Outputs, expected.Name);
            if (actual is null || !expected.HasSameType(actual))
            {
                return ("output", expected.Name, expected.TypeText, actual?.TypeText ?? "missing");
            }
        }

        return null;
    }

    /// <inheritdoc />
    public override string ToString() => $"inputs ({string.Join(", ", Inputs)}), outputs ({string.Join(", ", Outputs)})";

    private static OnnxTensorSpec? Find(IReadOnlyList<OnnxTensorSpec> specs, string name)
    {
        foreach (OnnxTensorSpec spec in specs)
        {
            if (string.Equals(spec.Name, name, StringComparison.Ordinal))
            {
                return spec;
            }
        }

        return null;
    }
}
