using ModelCaching.Reload;

namespace ModelCaching.Tests.Reload;

public sealed class SymbolicLinksTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void ResolveRealPath_ThroughConfigMapLinks_ReturnsTheFileInTheVersionDirectory()
    {
        string version = _directory.File("..2026_11_25");
        Directory.CreateDirectory(version);
        File.WriteAllText(Path.Combine(version, "model.bin"), "v1");
        Directory.CreateSymbolicLink(_directory.File("..data"), "..2026_11_25");
        File.CreateSymbolicLink(_directory.File("model.bin"), "..data/model.bin");

        string real = SymbolicLinks.ResolveRealPath(_directory.File("model.bin"));

        Assert.Equal(Path.Combine(SymbolicLinks.ResolveRealPath(_directory.Path), "..2026_11_25", "model.bin"), real);
    }

    [Fact]
    public void ResolveRealPath_OfAPlainFile_ReturnsItsFullPath()
    {
        string path = _directory.File("model.bin");
        File.WriteAllText(path, "v1");

        Assert.Equal(Path.Combine(SymbolicLinks.ResolveRealPath(_directory.Path), "model.bin"), SymbolicLinks.ResolveRealPath(path));
    }

    [Fact]
    public void ResolveRealPath_OfAMissingFile_KeepsTheMissingComponents()
    {
        string path = Path.Combine(_directory.Path, "missing", "model.bin");

        Assert.EndsWith(Path.Combine("missing", "model.bin"), SymbolicLinks.ResolveRealPath(path), StringComparison.Ordinal);
    }

    [Fact]
    public void ResolveRealPath_WithALinkCycle_ThrowsIOException()
    {
        File.CreateSymbolicLink(_directory.File("a"), _directory.File("b"));
        File.CreateSymbolicLink(_directory.File("b"), _directory.File("a"));

        var error = Assert.Throws<IOException>(() => SymbolicLinks.ResolveRealPath(_directory.File("a")));

        Assert.Contains("Too many levels of symbolic links", error.Message, StringComparison.Ordinal);
    }
}
