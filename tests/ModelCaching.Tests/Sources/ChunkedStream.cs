namespace ModelCaching.Tests.Sources;

/// <summary>
/// A read-only stream that cannot seek (so its length is unknown), hands out at most <c>chunk</c> bytes per read, and
/// counts what was read: a network stream, or an endless one when <c>length</c> is <see langword="null"/>.
/// </summary>
internal sealed class ChunkedStream(long? length, int chunk = 8192) : Stream
{
    private long _read;

    public long BytesRead => _read;

    public bool IsDisposed { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>The byte at <paramref name="offset"/>: a pattern, so a misplaced segment shows.</summary>
    public static byte At(long offset) => (byte)(offset % 251);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        long left = length is { } total ? total - _read : long.MaxValue;
        int count = (int)Math.Min(Math.Min(buffer.Length, chunk), left);
        for (int i = 0; i < count; i++)
        {
            buffer[i] = At(_read + i);
        }

        _read += count;
        return count;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : new ValueTask<int>(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        IsDisposed = true;
        base.Dispose(disposing);
    }
}
