using System.Buffers.Binary;
using System.IO.Compression;

namespace ModelCaching.Fuzz.Mutation;

/// <summary>
/// Makes new inputs from known ones: random bytes, byte-level mutations of the whole file (bit flips, interesting
/// integers, truncation, chunk insertion and deletion, splices of two inputs) and, most often, mutations of one
/// entry's inflated content re-zipped with valid CRCs, which is what gets past the zip layer into ML.NET's own
/// binary readers. Every choice comes from the seeded <see cref="Random"/>, so a seed replays a run.
/// </summary>
public sealed class ZipMutator(Random random)
{
    /// <summary>The time written into every entry, so that the same seed makes the same bytes.</summary>
    internal static readonly DateTimeOffset FixedTime = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Values that sit on the edges of length and count fields.
    private static readonly int[] s_interestingInts = [0, 1, -1, 2, 16, 255, 256, 4096, 65535, 65536, int.MaxValue, int.MinValue, int.MaxValue / 2, 0x7FFFFFF0];

    /// <summary>Returns a mutation of <paramref name="input"/> and a short name of what was done.</summary>
    public (byte[] Bytes, string Mutation) Mutate(byte[] input, IReadOnlyList<byte[]> pool)
    {
        int choice = random.Next(100);
        return choice switch
        {
            < 45 => MutateEntry(input),
            < 55 => (FlipBits(input), "flip-bits"),
            < 63 => (PutInterestingInt(input), "interesting-int"),
            < 71 => (Truncate(input), "truncate"),
            < 77 => (DeleteChunk(input), "delete-chunk"),
            < 83 => (InsertChunk(input), "insert-chunk"),
            < 89 => ReshapeEntries(input),
            < 95 => (Splice(input, pool[random.Next(pool.Count)]), "splice"),
            _ => (RandomBytes(), "random"),
        };
    }

    public byte[] RandomBytes()
    {
        var bytes = new byte[random.Next(0, 4096)];
        random.NextBytes(bytes);
        if (bytes.Length >= 4 && random.Next(2) == 0)
        {
            // Half of them pass the loader's "is this a zip" check.
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, 0x04034B50);
        }

        return bytes;
    }

    public byte[] Truncate(byte[] input) => input.Length == 0 ? input : input[..random.Next(input.Length)];

    private byte[] FlipBits(byte[] input)
    {
        byte[] copy = [.. input];
        int flips = 1 + random.Next(Math.Max(1, copy.Length / 500));
        for (int i = 0; i < flips && copy.Length > 0; i++)
        {
            copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        }

        return copy;
    }

    private byte[] PutInterestingInt(byte[] input)
    {
        if (input.Length < 4)
        {
            return FlipBits(input);
        }

        byte[] copy = [.. input];
        int offset = random.Next(copy.Length - 3);
        int value = s_interestingInts[random.Next(s_interestingInts.Length)];
        if (random.Next(4) == 0 && offset <= copy.Length - 8)
        {
            BinaryPrimitives.WriteInt64LittleEndian(copy.AsSpan(offset), random.Next(2) == 0 ? long.MaxValue : (long)value);
        }
        else
        {
            BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(offset), value);
        }

        return copy;
    }

    private byte[] DeleteChunk(byte[] input)
    {
        if (input.Length < 2)
        {
            return input;
        }

        int start = random.Next(input.Length - 1);
        int length = 1 + random.Next(Math.Min(256, input.Length - start - 1));
        return [.. input.AsSpan(0, start), .. input.AsSpan(start + length)];
    }

    private byte[] InsertChunk(byte[] input)
    {
        int at = random.Next(input.Length + 1);
        var chunk = new byte[1 + random.Next(256)];
        if (random.Next(2) == 0)
        {
            random.NextBytes(chunk);
        }
        else if (input.Length > 0)
        {
            // A copy of some of the input itself, as structure repeated in place.
            int from = random.Next(input.Length);
            chunk = input.AsSpan(from, Math.Min(chunk.Length, input.Length - from)).ToArray();
        }

        return [.. input.AsSpan(0, at), .. chunk, .. input.AsSpan(at)];
    }

    private byte[] Splice(byte[] first, byte[] second)
    {
        int a = first.Length == 0 ? 0 : random.Next(first.Length);
        int b = second.Length == 0 ? 0 : random.Next(second.Length);
        return [.. first.AsSpan(0, a), .. second.AsSpan(b)];
    }

    /// <summary>Mutates the inflated bytes of one entry and zips everything again, with correct CRCs and sizes.</summary>
    private (byte[] Bytes, string Mutation) MutateEntry(byte[] input)
    {
        List<(string Name, byte[] Content)>? entries = TryReadEntries(input);
        if (entries is null || entries.Count == 0)
        {
            return (FlipBits(input), "flip-bits");
        }

        int index = random.Next(entries.Count);
        (string name, byte[] content) = entries[index];
        byte[] mutated = random.Next(6) switch
        {
            0 => FlipBits(content),
            1 or 2 => PutInterestingInt(content),
            3 => Truncate(content),
            4 => DeleteChunk(content),
            _ => InsertChunk(content),
        };
        entries[index] = (name, mutated);
        return (WriteEntries(entries), "entry:" + ShortName(name));
    }

    /// <summary>Drops, duplicates, renames or swaps entries: parts missing, parts in the wrong place.</summary>
    private (byte[] Bytes, string Mutation) ReshapeEntries(byte[] input)
    {
        List<(string Name, byte[] Content)>? entries = TryReadEntries(input);
        if (entries is null || entries.Count < 2)
        {
            return (Truncate(input), "truncate");
        }

        int a = random.Next(entries.Count);
        int b = random.Next(entries.Count);
        string mutation;
        switch (random.Next(4))
        {
            case 0:
                mutation = "drop:" + ShortName(entries[a].Name);
                entries.RemoveAt(a);
                break;
            case 1:
                mutation = "swap-content";
                (entries[a], entries[b]) = ((entries[a].Name, entries[b].Content), (entries[b].Name, entries[a].Content));
                break;
            case 2:
                mutation = "rename:" + ShortName(entries[a].Name);
                entries[a] = (entries[a].Name + "x", entries[a].Content);
                break;
            default:
                mutation = "duplicate:" + ShortName(entries[a].Name);
                entries.Add(entries[a]);
                break;
        }

        return (WriteEntries(entries), mutation);
    }

    private static string ShortName(string entry)
    {
        string[] parts = entry.Split('\\', '/');
        return parts.Length >= 2 ? parts[^2] + "/" + parts[^1] : entry;
    }

    internal static List<(string Name, byte[] Content)>? TryReadEntries(byte[] zip)
    {
        try
        {
            using var archive = new ZipArchive(new MemoryStream(zip, writable: false), ZipArchiveMode.Read);
            var entries = new List<(string, byte[])>(archive.Entries.Count);
            foreach (ZipArchiveEntry entry in archive.Entries)
            {
                // Inputs in the pool are small (the seeds and their mutations): refuse anything that is not.
                if (entry.Length > 1 << 20)
                {
                    return null;
                }

                using Stream stream = entry.Open();
                using var content = new MemoryStream();
                stream.CopyTo(content);
                entries.Add((entry.FullName, content.ToArray()));
            }

            return entries;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    internal static byte[] WriteEntries(IEnumerable<(string Name, byte[] Content)> entries)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach ((string name, byte[] content) in entries)
            {
                ZipArchiveEntry entry = archive.CreateEntry(name, CompressionLevel.Fastest);
                entry.LastWriteTime = FixedTime;
                using Stream stream = entry.Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }
}
