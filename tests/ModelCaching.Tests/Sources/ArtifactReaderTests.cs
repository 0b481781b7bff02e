namespace ModelCaching.Tests.Sources;

/// <summary><see cref="ArtifactReader"/> on its own: known and unknown lengths, the size limit while reading, and empty streams.</summary>
public sealed class ArtifactReaderTests
{
    private const string LimitMessage = "Raise ModelOptions.MaxArtifactBytes if the model really is this large.";

    public enum Mode
    {
        Sync,
        Async,
    }

    [Theory]
    [InlineData(Mode.Sync)]
    [InlineData(Mode.Async)]
    public async Task A_stream_of_known_length_is_read_whole(Mode mode)
    {
        byte[] content = Pattern(300_000);

        byte[] read = await ReadAsync(mode, new MemoryStream(content), maxBytes: 1_000_000);

        Assert.Equal(content, read);
    }

    [Fact]
    public void A_stream_of_known_length_is_read_into_one_array_without_a_copy()
    {
        const int Size = 8 * 1024 * 1024;
        using var stream = new MemoryStream(Pattern(Size));
        ArtifactReader.ReadAll(new MemoryStream(new byte[16]), 100, "warm-up", CancellationToken.None);

        long before = GC.GetAllocatedBytesForCurrentThread();
        byte[] read = ArtifactReader.ReadAll(stream, Size, "memory:test", CancellationToken.None);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Size, read.Length);
        Assert.InRange(allocated, Size, Size + (64 * 1024));
    }

    [Fact]
    public void A_stream_of_known_length_well_under_the_limit_costs_no_extra_segment_to_find_its_end()
    {
        const int Size = 1024 * 1024;
        using var stream = new MemoryStream(Pattern(Size));
        ArtifactReader.ReadAll(new MemoryStream(new byte[16]), 100, "warm-up", CancellationToken.None);

        long before = GC.GetAllocatedBytesForCurrentThread();
        byte[] read = ArtifactReader.ReadAll(stream, 2 * Size, "memory:test", CancellationToken.None);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Size, read.Length);
        // The array, a one-byte probe for the end, and bookkeeping. An extra segment would be at least 64 KiB; the margin of
        // 32 KiB takes what else this thread may allocate meanwhile beside parallel tests (7,968 B once in a CI rehearsal).
        Assert.InRange(allocated, Size, Size + (32 * 1024));
    }

    [Fact]
    public void The_length_from_the_caller_is_used_for_a_stream_that_cannot_seek()
    {
        const int Size = 1024 * 1024;
        var stream = new ChunkedStream(Size);

        long before = GC.GetAllocatedBytesForCurrentThread();
        byte[] read = ArtifactReader.ReadAll(stream, Size, "memory:test", CancellationToken.None, expectedLength: Size);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Size, read.Length);
        Assert.InRange(allocated, Size, Size + (64 * 1024));
    }

    [Theory]
    [InlineData(Mode.Sync, 1)]
    [InlineData(Mode.Sync, 65_536)]
    [InlineData(Mode.Sync, 10_000_000)]
    [InlineData(Mode.Async, 65_537)]
    [InlineData(Mode.Async, 10_000_000)]
    public async Task A_stream_of_unknown_length_is_read_in_segments_and_joined_in_order(Mode mode, int size)
    {
        var stream = new ChunkedStream(size, chunk: 7_919);

        byte[] read = await ReadAsync(mode, stream, maxBytes: 20_000_000);

        Assert.Equal(size, read.Length);
        int wrong = 0;
        for (int i = 0; i < read.Length; i++)
        {
            if (read[i] != ChunkedStream.At(i))
            {
                wrong++;
            }
        }

        Assert.Equal(0, wrong);
    }

    [Theory]
    [InlineData(Mode.Sync)]
    [InlineData(Mode.Async)]
    public async Task A_stream_of_unknown_length_exactly_at_the_limit_is_read(Mode mode)
    {
        byte[] read = await ReadAsync(mode, new ChunkedStream(100_000), maxBytes: 100_000);

        Assert.Equal(100_000, read.Length);
    }

    [Theory]
    [InlineData(Mode.Sync)]
    [InlineData(Mode.Async)]
    public async Task An_endless_stream_fails_once_it_passes_the_limit_having_read_at_most_one_byte_more(Mode mode)
    {
        var endless = new ChunkedStream(length: null, chunk: 1024 * 1024);
        const long Limit = 5_000_000;

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(mode, endless, Limit));

        Assert.Equal($"endless is larger than the limit of {Limit:N0} bytes (at least {Limit + 1:N0} bytes). {LimitMessage}", error.Message);
        Assert.Equal(Limit + 1, endless.BytesRead);
    }

    [Theory]
    [InlineData(Mode.Sync)]
    [InlineData(Mode.Async)]
    public async Task A_stream_whose_known_length_is_over_the_limit_fails_before_reading(Mode mode)
    {
        var stream = new MemoryStream(new byte[1001]);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(mode, stream, maxBytes: 1000, description: "file.bin"));

        Assert.Equal($"file.bin is larger than the limit of 1,000 bytes (at least 1,001 bytes). {LimitMessage}", error.Message);
        Assert.Equal(0, stream.Position);
    }

    [Fact]
    public void The_known_length_counts_from_the_current_position()
    {
        var stream = new MemoryStream(Pattern(1500)) { Position = 1000 };

        byte[] read = ArtifactReader.ReadAll(stream, maxBytes: 500, "memory:test", CancellationToken.None);

        Assert.Equal(Pattern(1500)[1000..], read);
    }

    [Theory]
    [InlineData(Mode.Sync)]
    [InlineData(Mode.Async)]
    public async Task An_empty_stream_of_known_length_gives_an_empty_array(Mode mode)
    {
        byte[] read = await ReadAsync(mode, new MemoryStream(), maxBytes: 1000);

        Assert.Empty(read);
    }

    [Theory]
    [InlineData(Mode.Sync)]
    [InlineData(Mode.Async)]
    public async Task An_empty_stream_of_unknown_length_gives_an_empty_array(Mode mode)
    {
        byte[] read = await ReadAsync(mode, new ChunkedStream(0), maxBytes: 1000);

        Assert.Empty(read);
    }

    [Theory]
    [InlineData(Mode.Sync)]
    [InlineData(Mode.Async)]
    public async Task A_cancelled_read_throws_OperationCanceledException(Mode mode)
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReadAsync(mode, new ChunkedStream(100), 1000, cancellationToken: cancelled.Token));
    }

    private static byte[] Pattern(int size)
    {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++)
        {
            bytes[i] = ChunkedStream.At(i);
        }

        return bytes;
    }

    private static async Task<byte[]> ReadAsync(Mode mode, Stream stream, long maxBytes, string description = "endless", CancellationToken cancellationToken = default) =>
        mode == Mode.Sync
            ? ArtifactReader.ReadAll(stream, maxBytes, description, cancellationToken)
            : await ArtifactReader.ReadAllAsync(stream, maxBytes, description, cancellationToken);
}
