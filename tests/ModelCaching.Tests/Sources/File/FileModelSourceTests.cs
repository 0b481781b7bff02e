using System.Security.Cryptography;
using System.Text;

namespace ModelCaching.Tests.Reload;

/// <summary>Reading a model file and its SHA-256 sidecar.</summary>
public sealed class FileModelSourceTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Fetch_WithSha256SumSidecar_SetsTheExpectedHash()
    {
        string path = _directory.File("model.bin");
        await File.WriteAllTextAsync(path, "v1");
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("v1")));
        await File.WriteAllTextAsync(path + ".sha256", $"{hash}  model.bin\n");
        using var source = new FileModelSource(path);

        ModelArtifact artifact = (await source.FetchAsync(Context(), CancellationToken.None))!;

        Assert.Equal(hash.ToLowerInvariant(), artifact.ExpectedSha256);
        Assert.Equal(artifact.ContentHash, artifact.ExpectedSha256);
        Assert.Equal(path, artifact.Location);
        Assert.Equal(File.GetLastWriteTimeUtc(path), artifact.LastModified!.Value.UtcDateTime);
    }

    [Fact]
    public async Task Fetch_WithSidecarTurnedOff_IgnoresTheSidecar()
    {
        string path = _directory.File("model.bin");
        await File.WriteAllTextAsync(path, "v1");
        await File.WriteAllTextAsync(path + ".sha256", new string('a', 64));
        using var source = new FileModelSource(path, new FileModelSourceOptions { UseSha256Sidecar = false });

        ModelArtifact artifact = (await source.FetchAsync(Context(), CancellationToken.None))!;

        Assert.Null(artifact.ExpectedSha256);
    }

    [Theory]
    [InlineData("not a hash")]
    [InlineData("")]
    [InlineData("abc123  model.bin")]
    public async Task Fetch_WithMalformedSidecar_ThrowsNamingTheSidecar(string sidecar)
    {
        string path = _directory.File("model.bin");
        await File.WriteAllTextAsync(path, "v1");
        await File.WriteAllTextAsync(path + ".sha256", sidecar);
        using var source = new FileModelSource(path);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => source.FetchAsync(Context(), CancellationToken.None).AsTask());

        Assert.Contains(path + ".sha256", error.Message, StringComparison.Ordinal);
        Assert.Contains("64-digit hex digest", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_WhenFileIsLargerThanTheLimit_ThrowsNamingTheLimit()
    {
        string path = _directory.File("model.bin");
        await File.WriteAllBytesAsync(path, new byte[1000]);
        using var source = new FileModelSource(path);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => source.FetchAsync(Context(maxBytes: 999), CancellationToken.None).AsTask());

        Assert.Contains("999", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_WhenFileIsEmpty_ThrowsInvalidDataNamingTheFile()
    {
        string path = _directory.File("model.bin");
        await File.WriteAllBytesAsync(path, []);
        using var source = new FileModelSource(path);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => source.FetchAsync(Context(), CancellationToken.None).AsTask());

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("is empty (0 bytes)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_WhenFileIsMissing_ThrowsFileNotFound()
    {
        using var source = new FileModelSource(_directory.File("missing.bin"));

        await Assert.ThrowsAsync<FileNotFoundException>(() => source.FetchAsync(Context(), CancellationToken.None).AsTask());
    }

    [Fact]
    public void Constructor_WithDirectoryPath_ThrowsNamingThePath()
    {
        var error = Assert.Throws<ArgumentException>(() => new FileModelSource(_directory.Path + Path.DirectorySeparatorChar));

        Assert.Contains("names a directory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_WhenGivenOutOfRangeValues_ThrowAtOnce()
    {
        var options = new FileModelSourceOptions();

        Assert.Throws<ArgumentOutOfRangeException>(() => options.PollingInterval = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.DebounceDelay = TimeSpan.FromMilliseconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.StabilityInterval = TimeSpan.FromMilliseconds(-1));
    }

    private static ModelFetchContext Context(long maxBytes = 1 << 20) => new("test-model", null, maxBytes);
}
