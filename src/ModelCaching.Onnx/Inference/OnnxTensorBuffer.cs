using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelCaching.Onnx.Inference;

/// <summary>
/// One input or output of a runner: a managed array pinned under an <see cref="OrtValue"/> for numeric tensors (ONNX
/// Runtime reads and writes it in place), or a native string tensor. Created once per runner and reused by every run.
/// </summary>
internal sealed class OnnxTensorBuffer : IDisposable
{
    private OnnxTensorBuffer(string name, TensorElementType elementType, Type? clrType, long[] shape, Array? data, OrtValue value)
    {
        Name = name;
        ElementType = elementType;
        ClrType = clrType;
        Shape = shape;
        Data = data;
        Value = value;
        ElementCount = new OnnxTensorLayout(name, elementType, shape).ElementCount;
    }

    public string Name { get; }

    public TensorElementType ElementType { get; }

    /// <summary>The CLR element type of <see cref="Data"/>; null for strings.</summary>
    public Type? ClrType { get; }

    public long[] Shape { get; }

    /// <summary>The pinned managed elements; null for strings (their bytes live in native memory).</summary>
    public Array? Data { get; }

    public OrtValue Value { get; }

    /// <summary>The number of elements (the product of <see cref="Shape"/>).</summary>
    public long ElementCount { get; }

    /// <summary>
    /// The rental in which this input was last written (0: none, or the warm-up's fresh zeros). A run checks it against
    /// the current rental, so no value a previous caller wrote is read by the next one. Only the runner's holder writes it.
    /// </summary>
    public long WrittenIn;

    public static OnnxTensorBuffer Create(OnnxTensorLayout layout) => layout.ElementType switch
    {
        TensorElementType.Float => Numeric<float>(layout),
        TensorElementType.Double => Numeric<double>(layout),
        TensorElementType.Int64 => Numeric<long>(layout),
        TensorElementType.UInt64 => Numeric<ulong>(layout),
        TensorElementType.Int32 => Numeric<int>(layout),
        TensorElementType.UInt32 => Numeric<uint>(layout),
        TensorElementType.Int16 => Numeric<short>(layout),
        TensorElementType.UInt16 => Numeric<ushort>(layout),
        TensorElementType.Int8 => Numeric<sbyte>(layout),
        TensorElementType.UInt8 => Numeric<byte>(layout),
        TensorElementType.Bool => Numeric<bool>(layout),
        TensorElementType.String => new OnnxTensorBuffer(layout.Name, layout.ElementType, null, layout.Shape, null,
            OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, layout.Shape)),
        _ => throw new NotSupportedException($"Tensor '{layout.Name}' has elements of type {layout.ElementType}, which the typed API does not support; use the session directly."),
    };

    public void Dispose() => Value.Dispose();

    private static OnnxTensorBuffer Numeric<T>(OnnxTensorLayout layout)
        where T : unmanaged
    {
        var data = new T[layout.ElementCount];
        return new OnnxTensorBuffer(layout.Name, layout.ElementType, typeof(T), layout.Shape, data, OrtValue.CreateTensorValueFromMemory(data, layout.Shape));
    }
}
