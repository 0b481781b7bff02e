using System.IO.Compression;

namespace ModelCaching.ML.Tests.Loading;

/// <summary>Real models with one part changed: the zip stays valid (CRCs and sizes right), the ML.NET content does not.</summary>
internal static class DamagedModels
{
    public const string IrisPredictor = "TransformerChain\\Transform_002\\Transform_000\\Model\\Model.key";
    public const string IrisFirstTransform = "TransformerChain\\Transform_000\\Model.key";
    public const string TaxiTrainSchema = "TransformerChain\\Transform_008\\TrainSchema";

    // ML.NET's part header is 256 bytes; what follows is the part's own data.
    private const int PartHeaderLength = 256;

    /// <summary>The zip with <paramref name="entry"/>'s data (after its header) set to zeros.</summary>
    public static byte[] WithZeroedPart(byte[] zip, string entry) => WithEntry(zip, entry, content =>
    {
        byte[] copy = [.. content];
        Array.Clear(copy, PartHeaderLength, copy.Length - PartHeaderLength);
        return copy;
    });

    /// <summary>The zip with <paramref name="entry"/> cut to its first <paramref name="length"/> bytes.</summary>
    public static byte[] WithPartCutTo(byte[] zip, string entry, int length) => WithEntry(zip, entry, content => content[..length]);

    /// <summary>Only the entries whose name starts with <paramref name="prefix"/>.</summary>
    public static byte[] OnlyEntries(byte[] zip, string prefix) => Write(Read(zip).Where(e => e.Name.StartsWith(prefix, StringComparison.Ordinal)));

    /// <summary>The zip with one more entry of <paramref name="zeros"/> zero bytes, compressed as small as deflate can.</summary>
    public static byte[] WithZeroFilledEntry(byte[] zip, string name, long zeros)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach ((string entry, byte[] content) in Read(zip))
            {
                using Stream stream = archive.CreateEntry(entry).Open();
                stream.Write(content);
            }

            using Stream padding = archive.CreateEntry(name, CompressionLevel.SmallestSize).Open();
            var block = new byte[1 << 20];
            for (long left = zeros; left > 0; left -= block.Length)
            {
                padding.Write(block, 0, (int)Math.Min(left, block.Length));
            }
        }

        return buffer.ToArray();
    }

    private static byte[] WithEntry(byte[] zip, string entry, Func<byte[], byte[]> change)
    {
        List<(string Name, byte[] Content)> entries = Read(zip);
        int index = entries.FindIndex(e => e.Name == entry);
        Assert.True(index >= 0, $"The model has no entry {entry}.");
        entries[index] = (entry, change(entries[index].Content));
        return Write(entries);
    }

    private static List<(string Name, byte[] Content)> Read(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        var entries = new List<(string, byte[])>();
        foreach (ZipArchiveEntry entry in archive.Entries)
        {
            using Stream stream = entry.Open();
            using var content = new MemoryStream();
            stream.CopyTo(content);
            entries.Add((entry.FullName, content.ToArray()));
        }

        return entries;
    }

    private static byte[] Write(IEnumerable<(string Name, byte[] Content)> entries)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach ((string name, byte[] content) in entries)
            {
                using Stream stream = archive.CreateEntry(name).Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }
}
