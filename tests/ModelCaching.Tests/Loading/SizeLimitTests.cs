using System.Runtime.InteropServices;
using ModelCaching.Tests.Reload;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// Size limits hold while reading, before the memory is spent, and paths that are not model files (a pipe, a device,
/// a directory, a huge sparse file) fail at once with a cause that says so.
/// </summary>
public sealed class SizeLimitTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void DefaultMaxArtifactBytes_IsOneGibibyte_AndTheLargestArrayIsTheCeiling()
    {
        Assert.Equal(1L << 30, new ModelOptions<FakeModel>().MaxArtifactBytes);

        var options = new ModelOptions<FakeModel> { Source = new MutableSource("v1"), Loader = new FakeLoader(), MaxArtifactBytes = 3L << 30 };
        ArgumentException error = Assert.Throws<ArgumentException>(() => new ModelCache<FakeModel>("too-big", options));
        Assert.Contains("Model 'too-big'", error.Message);
        Assert.Contains("MaxArtifactBytes", error.Message);
    }

    [Fact]
    public async Task SymlinkToDevZero_FailsAtOnce_AsNotARegularFile()
    {
        string path = _directory.File("model.zip");
        File.CreateSymbolicLink(path, "/dev/zero");
        await using ModelCache<FakeModel> cache = FileCache(path, "zeros");

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Equal("zeros", error.ModelName);
        Assert.Contains("not a regular file", error.Message);
        Assert.IsType<InvalidDataException>(error.InnerException);
    }

    [Fact]
    public async Task NamedPipeAtTheModelPath_FailsAtOnce_InsteadOfBlockingInOpen()
    {
        string path = _directory.File("model.zip");
        Assert.Equal(0, MakeFifo(path, Convert.ToUInt32("644", 8)));
        await using ModelCache<FakeModel> cache = FileCache(path, "pipe");

        // No writer ever opens the pipe: opening it would block forever, whatever the timeout.
        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync().AsTask().WaitAsync(Eventually.Timeout));

        Assert.Contains("not a regular file", error.Message);
    }

    [Fact]
    public async Task DirectoryAtTheModelPath_SaysItIsADirectory_NotThatAccessWasDenied()
    {
        string path = _directory.File("model.zip");
        Directory.CreateDirectory(path);
        await using ModelCache<FakeModel> cache = FileCache(path, "folder");

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("is a directory", error.Message);
        Assert.DoesNotContain("access", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SparseFileLargerThanTheLimit_IsRefusedWithoutReadingIt()
    {
        string path = _directory.File("model.zip");
        using (FileStream sparse = File.Create(path))
        {
            sparse.SetLength(2L << 30); // 2 GiB of holes: no disk, but reading it would buffer 2 GiB
        }

        await using ModelCache<FakeModel> cache = FileCache(path, "sparse");
        long before = GC.GetTotalAllocatedBytes(precise: true);

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("larger than the limit of 1,073,741,824 bytes", error.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 512L << 20, "the file was read instead of refused");
    }

    [Fact]
    public async Task EndlessStream_FailsAtTheLimit_AllocatingNoMoreThanTheLimitPlusOneSegment()
    {
        const long limit = 8L << 20;
        var stream = new EndlessStream();
        await using var cache = new ModelCache<FakeModel>("endless", new ModelOptions<FakeModel>
        {
            Source = new StreamModelSource(_ => ValueTask.FromResult<Stream>(stream), "endless-stream"),
            Loader = new FakeLoader(),
            MaxArtifactBytes = limit,
        });

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("larger than the limit of 8,388,608 bytes", error.Message);
        Assert.True(stream.BytesRead <= limit + (4L << 20), $"read {stream.BytesRead:N0} bytes");
        // Measured on the reading thread between reads: the buffers the reader allocated while reading.
        Assert.True(stream.AllocatedWhileReading <= limit + (5L << 20), $"allocated {stream.AllocatedWhileReading:N0} bytes");
    }

    [Fact]
    public async Task FileLargerThanTheLimit_IsRefusedBeforeReading_NamingTheLimit()
    {
        string path = _directory.File("model.zip");
        await File.WriteAllBytesAsync(path, new byte[4096]);
        await using ModelCache<FakeModel> cache = FileCache(path, "small-limit", maxBytes: 1024);

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("larger than the limit of 1,024 bytes (at least 4,096 bytes)", error.Message);
        Assert.Contains("MaxArtifactBytes", error.Message);
    }

    private static ModelCache<FakeModel> FileCache(string path, string name, long? maxBytes = null)
    {
        var options = new ModelOptions<FakeModel> { Source = new FileModelSource(path), Loader = new FakeLoader() };
        if (maxBytes is { } limit)
        {
            options.MaxArtifactBytes = limit;
        }

        return new ModelCache<FakeModel>(name, options);
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo(string path, uint mode);

    /// <summary>A stream that never ends, recording what the reading thread allocated between its reads.</summary>
    private sealed class EndlessStream : Stream
    {
        private long _baseline = -1;

        public long BytesRead { get; private set; }

        public long AllocatedWhileReading { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (_baseline < 0)
            {
                _baseline = now;
            }

            AllocatedWhileReading = now - _baseline;
            buffer.Fill(0x5A);
            BytesRead += buffer.Length;
            return buffer.Length;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
