using System.Buffers;
using System.IO.Compression;

namespace ModelCaching.Fuzz.Targets;

/// <summary>
/// The plain delegate loader path (<c>UseLoader((artifact, ct) =&gt; …)</c>): a user's own loader that reads every entry
/// of the zip, as a custom format would, stopping at an inflated-size limit. Whatever such a loader throws
/// (<see cref="InvalidDataException"/>, <see cref="IOException"/>, <see cref="NotSupportedException"/>, …) must reach
/// callers as a <see cref="ModelLoadException"/> naming the model, with the last good model serving.
/// </summary>
public sealed class DelegateFuzzTarget(IReadOnlyList<byte[]> seeds, TimeSpan loadTimeout, long maxInflatedBytes)
    : CacheFuzzTarget<ZipManifest>("delegate", seeds, loadTimeout)
{
    protected override IModelLoader<ZipManifest> CreateLoader() => new DelegateModelLoader<ZipManifest>(Load);

    // Any exception a user's loader throws is its own cause: the cache is checked for carrying it, not for its words.
    protected override bool IsExplained(Exception cause) => true;

    private ValueTask<ZipManifest> Load(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        using var zip = new ZipArchive(artifact.OpenRead(), ZipArchiveMode.Read);
        byte[] chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            long total = 0;
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                using Stream stream = entry.Open();
                int read;
                while ((read = stream.Read(chunk)) > 0)
                {
                    total += read;
                    if (total > maxInflatedBytes)
                    {
                        throw new InvalidDataException($"{artifact.Location} inflates to more than {maxInflatedBytes:N0} bytes.");
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            return new ValueTask<ZipManifest>(new ZipManifest(zip.Entries.Count, total));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }
}
