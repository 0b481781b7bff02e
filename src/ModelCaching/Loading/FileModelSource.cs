using Microsoft.Extensions.Primitives;

namespace ModelCaching;

/// <summary>
/// A source that reads a model file from disk. The file is read whole, so a later change to the file
/// cannot affect a generation that is already loaded.
/// </summary>
public sealed class FileModelSource : IModelSource
{
    /// <summary>Creates a source for the file at <paramref name="path"/> (relative paths are resolved against the current directory).</summary>
    public FileModelSource(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        FullPath = Path.GetFullPath(path);
        Description = $"file:{FullPath}";
    }

    /// <summary>The absolute path of the model file.</summary>
    public string FullPath { get; }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public async ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
    {
        var stream = new FileStream(FullPath, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            // Let writers and renamers go on: we read a snapshot and the hash tells us what we got.
            Share = FileShare.ReadWrite | FileShare.Delete,
            Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
        });
        await using (stream.ConfigureAwait(false))
        {
            byte[] content = await ArtifactReader.ReadAllAsync(stream, context.MaxArtifactBytes, Description, cancellationToken).ConfigureAwait(false);
            return new ModelArtifact(content, FullPath, lastModified: File.GetLastWriteTimeUtc(FullPath));
        }
    }

    /// <inheritdoc />
    public IChangeToken? GetChangeToken() => null;
}
