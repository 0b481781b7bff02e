namespace ModelCaching;

/// <summary>
/// Reads a stream into memory without going past a size limit: the limit holds while reading, so an endless or huge
/// stream (a symlink to <c>/dev/zero</c>, a sparse file) fails after at most the limit plus one segment, never after
/// buffering it all.
/// </summary>
internal static class ArtifactReader
{
    private const int FirstSegmentBytes = 64 * 1024;
    private const int MaxSegmentBytes = 4 * 1024 * 1024;

    /// <summary>Reads synchronously: for local files, which the load thread reads without touching the thread pool.</summary>
    public static byte[] ReadAll(Stream stream, long maxBytes, string description, CancellationToken cancellationToken, long? expectedLength = null)
    {
        var buffer = new SegmentedBuffer(maxBytes, description, KnownLength(stream, maxBytes, description, expectedLength));
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int read = stream.Read(buffer.GetSpace().Span);
            if (read == 0)
            {
                return buffer.ToArray();
            }

            buffer.Advance(read);
        }
    }

    /// <summary>Reads asynchronously: for network streams.</summary>
    public static async Task<byte[]> ReadAllAsync(Stream stream, long maxBytes, string description, CancellationToken cancellationToken, long? expectedLength = null)
    {
        var buffer = new SegmentedBuffer(maxBytes, description, KnownLength(stream, maxBytes, description, expectedLength));
        while (true)
        {
            int read = await stream.ReadAsync(buffer.GetSpace(), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.ToArray();
            }

            buffer.Advance(read);
        }
    }

    public static InvalidDataException TooLarge(string description, long size, long maxBytes)
    {
        var tooLarge = new InvalidDataException($"{description} is larger than the limit of {maxBytes:N0} bytes (at least {size:N0} bytes). Raise ModelOptions.MaxArtifactBytes if the model really is this large.");

        // InvalidDataException is sealed: the size travels in Data, for a caller that gave a tighter limit (a memory budget).
        tooLarge.Data[TooLargeSizeKey] = size;
        return tooLarge;
    }

    /// <summary>The size a <see cref="TooLarge"/> failure reported (the content's, or the bytes read when the limit was passed), if it is one.</summary>
    public static long? TooLargeSize(Exception exception) => exception.Data[TooLargeSizeKey] as long?;

    private const string TooLargeSizeKey = "ModelCaching.ArtifactSize";

    private static long? KnownLength(Stream stream, long maxBytes, string description, long? expectedLength)
    {
        long? length = expectedLength;
        if (length is null && stream.CanSeek)
        {
            length = stream.Length - stream.Position;
        }

        if (length > maxBytes)
        {
            throw TooLarge(description, length.Value, maxBytes);
        }

        return length;
    }

    /// <summary>
    /// Segments that grow from 64 KiB to 4 MiB, joined once at the end. With a known length the first segment is
    /// exactly that long, so a file is read into one array with no copy.
    /// </summary>
    private sealed class SegmentedBuffer(long maxBytes, string description, long? knownLength)
    {
        private readonly List<byte[]> _full = [];
        private byte[] _current = new byte[Math.Max(1, knownLength is { } known ? (int)Math.Min(known, Array.MaxLength) : (int)Math.Min(FirstSegmentBytes, maxBytes + 1))];
        private int _used;
        private long _total;

        public Memory<byte> GetSpace()
        {
            if (_used == _current.Length)
            {
                _full.Add(_current);

                // After a segment of the known length, a one-byte probe finds the end: no segment is spent on it.
                long next = knownLength == _total && _full.Count == 1
                    ? 1
                    : Math.Min(Math.Max(FirstSegmentBytes, Math.Min((long)_current.Length * 2, MaxSegmentBytes)), maxBytes - _total + 1);
                _current = new byte[(int)Math.Max(1, next)];
                _used = 0;
            }

            return _current.AsMemory(_used);
        }

        public void Advance(int count)
        {
            _used += count;
            _total += count;
            if (_total > maxBytes)
            {
                throw TooLarge(description, _total, maxBytes);
            }
        }

        public byte[] ToArray()
        {
            if (_full.Count == 0 && _used == _current.Length)
            {
                return _current;
            }

            if (_full.Count == 1 && _used == 0 && _full[0].Length == _total)
            {
                // The usual file: read whole into its first segment; the last read only found the end.
                return _full[0];
            }

            byte[] result = new byte[_total];
            int offset = 0;
            foreach (byte[] segment in _full)
            {
                segment.CopyTo(result, offset);
                offset += segment.Length;
            }

            Array.Copy(_current, 0, result, offset, _used);
            return result;
        }
    }
}
