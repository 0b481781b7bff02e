using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace ModelCaching.Fuzz.Mutation;

/// <summary>
/// Small zips that inflate hugely. Each is built from a real model so that everything but the bomb is valid:
/// ML.NET gets as far as the bomb before anything else can stop it.
/// </summary>
public static class ZipBombs
{
    private const int LocalHeaderSignature = 0x04034B50;
    private const int CentralHeaderSignature = 0x02014B50;

    /// <summary>The entry every ML.NET model zip has and ML.NET reads first.</summary>
    public const string RootEntry = "TransformerChain\\Model.key";

    /// <summary>All the bombs for <paramref name="model"/>, by name, each inflating to about <paramref name="inflatedBytes"/>.</summary>
    public static IEnumerable<(string Name, byte[] Bytes)> All(byte[] model, long inflatedBytes)
    {
        yield return ("bomb-padded-root-entry", PaddedEntry(model, RootEntry, inflatedBytes));
        yield return ("bomb-extra-entry", ExtraEntry(model, "Bomb\\zeros.bin", inflatedBytes));
        yield return ("bomb-understated-size", UnderstatedSize(model, inflatedBytes));
        yield return ("bomb-many-entries", ManyEntries(model, 65_000));
    }

    /// <summary>A model whose <paramref name="entryName"/> is its real content followed by zeros up to <paramref name="inflatedBytes"/>.</summary>
    public static byte[] PaddedEntry(byte[] model, string entryName, long inflatedBytes) => Rewrite(model, entryName, inflatedBytes, extraName: null);

    /// <summary>A model with one more entry, which nothing reads, of <paramref name="inflatedBytes"/> zeros.</summary>
    public static byte[] ExtraEntry(byte[] model, string extraName, long inflatedBytes) => Rewrite(model, entryName: null, inflatedBytes, extraName);

    /// <summary>
    /// <see cref="PaddedEntry"/> with the headers claiming the root entry's original size: a reader that trusts the
    /// declared size allocates little and then inflates far more.
    /// </summary>
    public static byte[] UnderstatedSize(byte[] model, long inflatedBytes)
    {
        List<(string Name, byte[] Content)> entries = ZipMutator.TryReadEntries(model) ?? throw new InvalidDataException("The seed is not a readable zip.");
        int declared = entries.Find(static e => e.Name == RootEntry).Content.Length;
        byte[] bomb = PaddedEntry(model, RootEntry, inflatedBytes);
        PatchUncompressedSize(bomb, RootEntry, (uint)declared);
        return bomb;
    }

    /// <summary>A model with <paramref name="count"/> more empty entries: a central directory that costs memory to list.</summary>
    public static byte[] ManyEntries(byte[] model, int count)
    {
        List<(string Name, byte[] Content)> entries = ZipMutator.TryReadEntries(model) ?? throw new InvalidDataException("The seed is not a readable zip.");
        for (int i = 0; i < count; i++)
        {
            entries.Add(($"Padding\\{i}", []));
        }

        return ZipMutator.WriteEntries(entries);
    }

    private static byte[] Rewrite(byte[] model, string? entryName, long inflatedBytes, string? extraName)
    {
        List<(string Name, byte[] Content)> entries = ZipMutator.TryReadEntries(model) ?? throw new InvalidDataException("The seed is not a readable zip.");
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach ((string name, byte[] content) in entries)
            {
                // SmallestSize: about 1,000 bytes of zeros per compressed byte, the most deflate allows.
                ZipArchiveEntry entry = archive.CreateEntry(name, name == entryName ? CompressionLevel.SmallestSize : CompressionLevel.Fastest);
                entry.LastWriteTime = ZipMutator.FixedTime;
                using Stream stream = entry.Open();
                stream.Write(content);
                if (name == entryName)
                {
                    WriteZeros(stream, inflatedBytes - content.Length);
                }
            }

            if (extraName is not null)
            {
                ZipArchiveEntry extra = archive.CreateEntry(extraName, CompressionLevel.SmallestSize);
                extra.LastWriteTime = ZipMutator.FixedTime;
                using Stream stream = extra.Open();
                WriteZeros(stream, inflatedBytes);
            }
        }

        return buffer.ToArray();
    }

    private static void WriteZeros(Stream stream, long count)
    {
        var zeros = new byte[1 << 20];
        for (long left = count; left > 0; left -= zeros.Length)
        {
            stream.Write(zeros, 0, (int)Math.Min(left, zeros.Length));
        }
    }

    /// <summary>Overwrites the uncompressed size of <paramref name="entryName"/> in its local and central headers.</summary>
    private static void PatchUncompressedSize(byte[] zip, string entryName, uint size)
    {
        byte[] name = Encoding.UTF8.GetBytes(entryName);
        Span<byte> span = zip;
        int patched = 0;
        for (int i = 0; i + 46 < span.Length; i++)
        {
            int signature = BinaryPrimitives.ReadInt32LittleEndian(span[i..]);
            if (signature == LocalHeaderSignature && span.Slice(i + 30, name.Length).SequenceEqual(name) && BinaryPrimitives.ReadUInt16LittleEndian(span[(i + 26)..]) == name.Length)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(span[(i + 22)..], size);
                patched++;
            }
            else if (signature == CentralHeaderSignature && span.Slice(i + 46, name.Length).SequenceEqual(name) && BinaryPrimitives.ReadUInt16LittleEndian(span[(i + 28)..]) == name.Length)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(span[(i + 24)..], size);
                patched++;
            }
        }

        if (patched == 0)
        {
            throw new InvalidDataException($"The entry {entryName} was not found to patch.");
        }
    }
}
