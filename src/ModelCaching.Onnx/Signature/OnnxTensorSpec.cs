using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelCaching.Onnx;

/// <summary>One input or output of an ONNX model: its name, kind, element type and shape (-1 for a dynamic dimension).</summary>
public sealed class OnnxTensorSpec
{
    /// <summary>Describes a tensor named <paramref name="name"/> of <paramref name="elementType"/> with <paramref name="shape"/>.</summary>
    /// <param name="name">The input or output name, as in the model.</param>
    /// <param name="elementType">The element type.</param>
    /// <param name="shape">The dimensions; -1 marks a dynamic one.</param>
    public OnnxTensorSpec(string name, TensorElementType elementType, params int[] shape)
        : this(name, OnnxValueType.ONNX_TYPE_TENSOR, elementType, shape)
    {
    }

    /// <summary>Describes an input or output of any kind (tensor, sequence, map).</summary>
    /// <param name="name">The input or output name, as in the model.</param>
    /// <param name="valueType">The kind of value.</param>
    /// <param name="elementType">The element type of a tensor; <see cref="TensorElementType.DataTypeMax"/> for other kinds.</param>
    /// <param name="shape">The dimensions of a tensor (-1 marks a dynamic one); empty for other kinds.</param>
    public OnnxTensorSpec(string name, OnnxValueType valueType, TensorElementType elementType, IReadOnlyList<int> shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        Name = name;
        ValueType = valueType;
        ElementType = elementType;
        Shape = [.. shape];
    }

    /// <summary>The input or output name.</summary>
    public string Name { get; }

    /// <summary>The kind of value (tensor, sequence, map).</summary>
    public OnnxValueType ValueType { get; }

    /// <summary>The element type of a tensor.</summary>
    public TensorElementType ElementType { get; }

    /// <summary>The dimensions of a tensor; -1 marks a dynamic one.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Whether <paramref name="other"/> has the same kind, element type and shape (names are not compared).</summary>
    public bool HasSameType(OnnxTensorSpec other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return ValueType == other.ValueType && ElementType == other.ElementType && Shape.SequenceEqual(other.Shape);
    }

    /// <summary>The type as a short text: <c>Float[1,8]</c>, <c>String[-1,1]</c>, or the kind for sequences and maps.</summary>
    public string TypeText => ValueType == OnnxValueType.ONNX_TYPE_TENSOR
        ? $"{ElementType}[{string.Join(',', Shape)}]"
        : ValueType.ToString();

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {TypeText}";

    internal static OnnxTensorSpec FromMetadata(string name, NodeMetadata metadata) => metadata.IsTensor
        ? new OnnxTensorSpec(name, metadata.OnnxValueType, metadata.ElementDataType, metadata.Dimensions)
        : new OnnxTensorSpec(name, metadata.OnnxValueType, TensorElementType.DataTypeMax, []);
}
