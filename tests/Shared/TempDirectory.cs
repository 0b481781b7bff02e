#nullable enable

namespace ModelCaching.Testing;

/// <summary>A fresh directory under the system temp folder, deleted with everything in it on dispose (shared by every test project).</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "modelcaching-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A watcher thread may still hold a handle for a moment; the OS cleans temp folders.
        }
    }
}
