namespace ModelCaching.Onnx.Tests.Support;

/// <summary>
/// A tiny protobuf walker over ONNX's ModelProto, enough to make test versions of a real model: rewrite the packed
/// floats of a node attribute in place (new weights, same signature) or rename a tensor (a new signature). Edits keep
/// every length, so no length prefix changes and the file stays a valid model.
/// </summary>
public static class OnnxModelEditor
{
    // Field numbers from onnx.proto: ModelProto.graph = 7; GraphProto.node = 1; NodeProto.attribute = 5;
    // AttributeProto.name = 1, AttributeProto.floats = 7 (packed).
    private const int ModelGraph = 7;
    private const int GraphNode = 1;
    private const int NodeAttribute = 5;
    private const int AttributeName = 1;
    private const int AttributeFloats = 7;

    /// <summary>Returns a copy of <paramref name="model"/> with every float of the attributes named <paramref name="attribute"/> changed by <paramref name="change"/>.</summary>
    public static byte[] WithAttributeFloats(byte[] model, string attribute, Func<float, float> change)
    {
        byte[] copy = (byte[])model.Clone();
        int edited = 0;
        foreach ((int graphStart, int graphEnd) in LengthDelimited(copy, 0, copy.Length, ModelGraph))
        {
            foreach ((int nodeStart, int nodeEnd) in LengthDelimited(copy, graphStart, graphEnd, GraphNode))
            {
                foreach ((int attributeStart, int attributeEnd) in LengthDelimited(copy, nodeStart, nodeEnd, NodeAttribute))
                {
                    (int nameStart, int nameEnd) = LengthDelimited(copy, attributeStart, attributeEnd, AttributeName).Single();
                    if (System.Text.Encoding.UTF8.GetString(copy, nameStart, nameEnd - nameStart) != attribute)
                    {
                        continue;
                    }

                    foreach ((int floatsStart, int floatsEnd) in LengthDelimited(copy, attributeStart, attributeEnd, AttributeFloats))
                    {
                        for (int i = floatsStart; i + 4 <= floatsEnd; i += 4)
                        {
                            float value = BitConverter.ToSingle(copy, i);
                            BitConverter.TryWriteBytes(copy.AsSpan(i, 4), change(value));
                            edited++;
                        }
                    }
                }
            }
        }

        return edited > 0 ? copy : throw new InvalidOperationException($"The model has no float attribute '{attribute}'.");
    }

    /// <summary>Returns a copy of <paramref name="model"/> with every occurrence of the name <paramref name="from"/> replaced by <paramref name="to"/> (same length).</summary>
    public static byte[] WithRenamedTensor(byte[] model, string from, string to)
    {
        byte[] source = System.Text.Encoding.UTF8.GetBytes(from);
        byte[] target = System.Text.Encoding.UTF8.GetBytes(to);
        if (source.Length != target.Length)
        {
            throw new ArgumentException("The new name must have as many bytes as the old one.", nameof(to));
        }

        byte[] copy = (byte[])model.Clone();
        int replaced = 0;
        for (int i = copy.AsSpan().IndexOf(source); i >= 0;)
        {
            target.CopyTo(copy, i);
            replaced++;
            int next = copy.AsSpan(i + source.Length).IndexOf(source);
            i = next < 0 ? -1 : i + source.Length + next;
        }

        return replaced > 0 ? copy : throw new InvalidOperationException($"The model has no tensor '{from}'.");
    }

    private static IEnumerable<(int Start, int End)> LengthDelimited(byte[] data, int start, int end, int field)
    {
        int i = start;
        while (i < end)
        {
            ulong key = ReadVarint(data, ref i);
            int number = (int)(key >> 3);
            switch ((int)(key & 7))
            {
                case 0:
                    ReadVarint(data, ref i);
                    break;
                case 1:
                    i += 8;
                    break;
                case 2:
                    int length = (int)ReadVarint(data, ref i);
                    if (number == field)
                    {
                        yield return (i, i + length);
                    }

                    i += length;
                    break;
                case 5:
                    i += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type {key & 7} at byte {i}.");
            }
        }
    }

    private static ulong ReadVarint(byte[] data, ref int i)
    {
        ulong result = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[i++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }
    }
}
