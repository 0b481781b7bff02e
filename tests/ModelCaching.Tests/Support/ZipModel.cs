using System.IO.Compression;

namespace ModelCaching.Tests.Reload;

/// <summary>
/// A model read from a zip archive (as ML.NET models are): the names of its entries. Stands in for the ML.NET
/// loader, which belongs to another package, so truncated and corrupt zips can be tested here.
/// </summary>
public sealed class ZipModel(IReadOnlyList<string> entries) : IDisposable
{
    public IReadOnlyList<string> Entries { get; } = entries;

    public bool IsDisposed { get; private set; }

    public void Dispose() => IsDisposed = true;
}

/// <summary>Loads a <see cref="ZipModel"/> with <see cref="ZipArchive"/>, reading every entry so a truncated file fails.</summary>
public sealed class ZipModelLoader : IModelLoader<ZipModel>
{
    private int _loads;

    public int Loads => Volatile.Read(ref _loads);

    public async ValueTask<ZipModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _loads);
        await using Stream stream = artifact.OpenRead();
        using var archive = new ZipArchive(stream, ZipArchiveMode.Read);
        var entries = new List<string>();
        foreach (ZipArchiveEntry entry in archive.Entries)
        {
            await using Stream entryStream = await entry.OpenAsync(cancellationToken);
            await entryStream.CopyToAsync(Stream.Null, cancellationToken);
            entries.Add(entry.FullName);
        }

        if (entries.Count == 0)
        {
            throw new InvalidDataException("the zip archive has no entries");
        }

        return new ZipModel(entries);
    }
}
