namespace ModelCaching.Tests.Sources;

/// <summary><see cref="ReadOnlyMemoryStream"/> on its own: reading, seeking, position and length, and no writing.</summary>
public sealed class ReadOnlyMemoryStreamTests
{
    private static readonly byte[] Content = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

    [Fact]
    public void Reads_the_content_in_order_then_returns_zero_at_the_end()
    {
        using var stream = new ReadOnlyMemoryStream(Content);
        byte[] buffer = new byte[4];

        Assert.Equal(4, stream.Read(buffer, 0, 4));
        Assert.Equal([1, 2, 3, 4], buffer);
        Assert.Equal(4, stream.Read(buffer.AsSpan()));
        Assert.Equal([5, 6, 7, 8], buffer);
        Assert.Equal(2, stream.Read(buffer, 1, 3));
        Assert.Equal([5, 9, 10, 8], buffer);
        Assert.Equal(0, stream.Read(buffer));
        Assert.Equal(10, stream.Position);
    }

    [Fact]
    public async Task Reads_asynchronously_like_synchronously()
    {
        await using var stream = new ReadOnlyMemoryStream(Content);
        byte[] buffer = new byte[6];

        Assert.Equal(6, await stream.ReadAsync(buffer.AsMemory()));
        Assert.Equal(4, await stream.ReadAsync(buffer, 0, 6, CancellationToken.None));
        Assert.Equal([7, 8, 9, 10, 5, 6], buffer);
        Assert.Equal(0, await stream.ReadAsync(buffer.AsMemory()));
    }

    [Fact]
    public async Task A_cancelled_asynchronous_read_is_cancelled_and_reads_nothing()
    {
        await using var stream = new ReadOnlyMemoryStream(Content);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.ReadAsync(new byte[4], cancelled.Token).AsTask());
        Assert.Equal(0, stream.Position);
    }

    [Fact]
    public void Is_readable_and_seekable_but_not_writable()
    {
        using var stream = new ReadOnlyMemoryStream(Content);

        Assert.True(stream.CanRead);
        Assert.True(stream.CanSeek);
        Assert.False(stream.CanWrite);
        Assert.Equal(10, stream.Length);
    }

    [Fact]
    public void Write_is_not_supported()
    {
        using var stream = new ReadOnlyMemoryStream(Content);

        var error = Assert.Throws<NotSupportedException>(() => stream.Write([1], 0, 1));

        Assert.Equal("The stream is read-only.", error.Message);
    }

    [Fact]
    public void SetLength_is_not_supported()
    {
        using var stream = new ReadOnlyMemoryStream(Content);

        var error = Assert.Throws<NotSupportedException>(() => stream.SetLength(2));

        Assert.Equal("The stream is read-only.", error.Message);
    }

    [Theory]
    [InlineData(3, SeekOrigin.Begin, 3, 4)]
    [InlineData(-2, SeekOrigin.End, 8, 9)]
    [InlineData(2, SeekOrigin.Current, 7, 8)]
    [InlineData(-5, SeekOrigin.Current, 0, 1)]
    public void Seek_moves_from_each_origin(long offset, SeekOrigin origin, long expected, byte next)
    {
        using var stream = new ReadOnlyMemoryStream(Content) { Position = 5 };

        Assert.Equal(expected, stream.Seek(offset, origin));
        Assert.Equal(expected, stream.Position);
        Assert.Equal(next, stream.ReadByte());
    }

    [Fact]
    public void Seek_past_the_end_stops_at_the_end_and_reads_nothing()
    {
        using var stream = new ReadOnlyMemoryStream(Content);

        Assert.Equal(10, stream.Seek(50, SeekOrigin.Begin));
        Assert.Equal(-1, stream.ReadByte());
    }

    [Fact]
    public void Seek_before_the_beginning_throws_IOException_and_keeps_the_position()
    {
        using var stream = new ReadOnlyMemoryStream(Content) { Position = 2 };

        var error = Assert.Throws<IOException>(() => stream.Seek(-3, SeekOrigin.Current));

        Assert.Equal("An attempt was made to move the position before the beginning of the stream.", error.Message);
        Assert.Equal(2, stream.Position);
    }

    [Fact]
    public void Seek_with_an_unknown_origin_throws_ArgumentOutOfRangeException()
    {
        using var stream = new ReadOnlyMemoryStream(Content);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => stream.Seek(0, (SeekOrigin)7));

        Assert.Equal("origin", error.ParamName);
    }

    [Fact]
    public void A_negative_position_throws_ArgumentOutOfRangeException()
    {
        using var stream = new ReadOnlyMemoryStream(Content);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => stream.Position = -1);

        Assert.Equal("value", error.ParamName);
    }

    [Fact]
    public void Reads_a_slice_of_a_larger_memory_only()
    {
        using var stream = new ReadOnlyMemoryStream(Content.AsMemory(2, 3));

        Assert.Equal(3, stream.Length);
        byte[] buffer = new byte[10];
        Assert.Equal(3, stream.Read(buffer));
        Assert.Equal([3, 4, 5], buffer[..3]);
    }

    [Fact]
    public void An_empty_stream_has_length_zero_and_reads_nothing()
    {
        using var stream = new ReadOnlyMemoryStream(ReadOnlyMemory<byte>.Empty);

        Assert.Equal(0, stream.Length);
        Assert.Equal(0, stream.Read(new byte[4]));
        Assert.Equal(0, stream.Seek(0, SeekOrigin.End));
    }
}
