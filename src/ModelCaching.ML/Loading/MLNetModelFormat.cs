using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelCaching.ML;

/// <summary>Reads just enough of an ML.NET model file to explain why it did not load.</summary>
internal static class MLNetModelFormat
{
    private const string CouldNotLoadPrefix = "Couldn't load model: '";
    private const string LegacyFormatMessage = "Could not load legacy format model";

    // ML.NET's model header: "ML\0MODEL", then the loader signature as 24 ASCII bytes at offset 80.
    private const int LoaderSignatureOffset = 80;
    private const int LoaderSignatureLength = 24;

    // Components that live outside the Microsoft.ML package, by a distinctive part of their loader signature.
    private static readonly (string Marker, string Package)[] s_packages =
    [
        ("FastTree", "Microsoft.ML.FastTree"),
        ("FastForest", "Microsoft.ML.FastTree"),
        ("LightGBM", "Microsoft.ML.LightGbm"),
        ("LightGbm", "Microsoft.ML.LightGbm"),
        ("Gam", "Microsoft.ML.FastTree"),
        ("Onnx", "Microsoft.ML.OnnxTransformer"),
        ("TensorFlow", "Microsoft.ML.TensorFlow"),
        ("Image", "Microsoft.ML.ImageAnalytics"),
        ("Ssa", "Microsoft.ML.TimeSeries"),
        ("IidChangePoint", "Microsoft.ML.TimeSeries"),
        ("IidSpike", "Microsoft.ML.TimeSeries"),
        ("Recommender", "Microsoft.ML.Recommender"),
        ("MatrixFactorization", "Microsoft.ML.Recommender"),
        ("TextClassification", "Microsoft.ML.TorchSharp"),
        ("Vision", "Microsoft.ML.Vision"),
    ];

    public static bool LooksLikeZip(ReadOnlySpan<byte> content) =>
        content.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(content) is 0x04034B50 or 0x06054B50;

    /// <summary>
    /// The total size the zip's entries say they inflate to, or <see langword="null"/> when the zip cannot be read
    /// (ML.NET will then say why). The declared sizes are what ML.NET extracts: .NET stops reading an entry at its
    /// declared size, so an entry that inflates further is cut there, never past it.
    /// </summary>
    public static long? DeclaredInflatedBytes(ReadOnlyMemory<byte> content)
    {
        try
        {
            using var zip = new ZipArchive(OpenStream(content), ZipArchiveMode.Read);
            long total = 0;
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                // Saturating: a damaged Zip64 field can claim anything.
                total = entry.Length > long.MaxValue - total ? long.MaxValue : total + entry.Length;
            }

            return total;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    public static string DescribeNonZip(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty)
        {
            return "the content is empty";
        }

        ReadOnlySpan<byte> head = content[..Math.Min(content.Length, 64)];
        string text = Encoding.ASCII.GetString(head).TrimStart();
        if (text.StartsWith('<'))
        {
            return "the content is text markup (an HTML or XML page?), while an ML.NET model is a zip file";
        }

        if (content[0] == 0x08 && content.IndexOf("onnx"u8) >= 0)
        {
            return "the content looks like an ONNX model (protobuf), while an ML.NET model is a zip file; load ONNX models with an ONNX Runtime loader (UseLoader with an InferenceSession)";
        }

        return $"an ML.NET model is a zip file, this content starts with 0x{Convert.ToHexString(content[..Math.Min(content.Length, 4)])}";
    }

    /// <summary>
    /// When <paramref name="error"/> says a model part's component is not available, returns that part's
    /// loader signature, the package that provides it (when known) and the part's entry in the zip. ML.NET
    /// reports it two ways: a <see cref="FileNotFoundException"/> for the component's assembly (the model
    /// names it), or a "Couldn't load model" for a part no registered loader claims.
    /// </summary>
    public static (string LoaderSignature, string? Package, string Entry)? FindMissingComponent(ReadOnlyMemory<byte> content, Exception error)
    {
        string? entry = null;
        string? assembly = null;
        for (Exception? current = error; current is not null; current = current.InnerException)
        {
            if (current is FileNotFoundException { FileName: { } fileName } && fileName.StartsWith("Microsoft.ML.", StringComparison.Ordinal))
            {
                // "Microsoft.ML.FastTree, Version=1.0.0.0, ...": ML.NET's assemblies ship in packages of the same name.
                int comma = fileName.IndexOf(',');
                assembly = comma < 0 ? fileName : fileName[..comma];
            }
            else if (current is FormatException && current.Message.StartsWith(CouldNotLoadPrefix, StringComparison.Ordinal) && current.InnerException is null)
            {
                // The innermost "Couldn't load model" without a cause of its own is the part nothing claimed.
                entry = current.Message[CouldNotLoadPrefix.Length..].TrimEnd('\'');
            }
        }

        if (assembly is not null)
        {
            (string Signature, string Entry)? part = FindPart(content, signature => PackageFor(signature) == assembly);
            return (part?.Signature ?? assembly, assembly, part?.Entry ?? "the model");
        }

        if (entry is null)
        {
            return null;
        }

        string wanted = entry.Replace('\\', '/').TrimEnd('/');
        (string Signature, string Entry)? named = FindPart(content, null, wanted);
        return named is { } found ? (found.Signature, PackageFor(found.Signature), entry) : null;
    }

    /// <summary>
    /// Says in plain words why ML.NET could not load a model: which part failed (the innermost
    /// "Couldn't load model: 'part'" of the chain), and what ML.NET found wrong there (the innermost message, past
    /// the reflection and "Error during class instantiation" wrappers that say nothing on their own).
    /// </summary>
    public static string DescribeLoadFailure(Exception error)
    {
        string? part = null;
        bool legacy = false;
        Exception innermost = error;
        for (Exception? current = error; current is not null; current = current.InnerException)
        {
            if (current is FormatException && current.Message.StartsWith(CouldNotLoadPrefix, StringComparison.Ordinal))
            {
                part = current.Message[CouldNotLoadPrefix.Length..].TrimEnd('\'').Replace('\\', '/');
            }

            // ML.NET tries the pre-1.0 layout when the zip has no TransformerChain; that failing says nothing more.
            legacy |= current.Message.StartsWith(LegacyFormatMessage, StringComparison.Ordinal);
            innermost = current;
        }

        string what = innermost switch
        {
            _ when legacy => "the zip holds no ML.NET model (no TransformerChain entry, nor the older DataLoaderModel)",
            InvalidDataException or EndOfStreamException => "the zip is damaged or cut short",
            FileLoadException or TypeLoadException => "it names a component that does not exist",
            _ when part is not null => "ML.NET could not read one of its parts",
            _ => "the file is damaged, or was not saved with MLContext.Model.Save",
        };

        string said = innermost.Message.Length > 200 ? innermost.Message[..200] + "…" : innermost.Message;
        return part is null
            ? $"{what} (ML.NET: {innermost.GetType().Name}: {said.TrimEnd('.')})"
            : $"{what}; part '{part}' failed (ML.NET: {innermost.GetType().Name}: {said.TrimEnd('.')})";
    }

    internal static string? PackageFor(string loaderSignature)
    {
        foreach ((string marker, string package) in s_packages)
        {
            if (loaderSignature.Contains(marker, StringComparison.Ordinal))
            {
                return package;
            }
        }

        return null;
    }

    /// <summary>
    /// Finds the first part (a <c>Model.key</c> entry) whose loader signature matches <paramref name="match"/>, or
    /// the part at <paramref name="entry"/>.
    /// </summary>
    private static (string Signature, string Entry)? FindPart(ReadOnlyMemory<byte> content, Func<string, bool>? match, string? entry = null)
    {
        try
        {
            using var zip = new ZipArchive(OpenStream(content), ZipArchiveMode.Read);
            foreach (ZipArchiveEntry candidate in zip.Entries)
            {
                // Models saved on Windows use backslashes in entry names.
                string name = candidate.FullName.Replace('\\', '/');
                if (!name.EndsWith("/Model.key", StringComparison.Ordinal))
                {
                    continue;
                }

                string part = name[..^"/Model.key".Length];
                if (entry is not null && !string.Equals(part, entry, StringComparison.Ordinal))
                {
                    continue;
                }

                string? signature = ReadLoaderSignature(candidate);
                if (signature is not null && (match is null || match(signature)))
                {
                    return (signature, part);
                }
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException)
        {
            // Not readable enough to say more than ML.NET did.
        }

        return null;
    }

    private static MemoryStream OpenStream(ReadOnlyMemory<byte> content) => MemoryMarshal.TryGetArray(content, out ArraySegment<byte> segment)
        ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
        : new MemoryStream(content.ToArray(), writable: false);

    private static string? ReadLoaderSignature(ZipArchiveEntry entry)
    {
        Span<byte> header = stackalloc byte[LoaderSignatureOffset + LoaderSignatureLength];
        using Stream stream = entry.Open();
        stream.ReadExactly(header);
        if (!header[..8].SequenceEqual("ML\0MODEL"u8))
        {
            return null;
        }

        ReadOnlySpan<byte> signature = header.Slice(LoaderSignatureOffset, LoaderSignatureLength);
        int end = signature.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? signature : signature[..end]);
    }
}
