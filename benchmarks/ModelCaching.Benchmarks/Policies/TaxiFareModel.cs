using System.IO.Compression;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies;

/// <summary>
/// The real taxi-fare regression model (dotnet/machinelearning-samples, see TestModels/README.md), loaded through a
/// plain delegate loader that calls <c>MLContext.Model.Load</c>: the benchmarks do not depend on the
/// ModelCaching.ML package.
/// </summary>
internal static class TaxiFareModel
{
    /// <summary>The model's name in the benchmarks' caches.</summary>
    public const string Name = "taxi-fare";

    // One context for every load, as an application keeps one: creating an MLContext is not what we measure.
    private static readonly MLContext s_mlContext = new(seed: 0);

    private static readonly Lazy<byte[]> s_bytes = new(static () => File.ReadAllBytes(FilePath));
    private static readonly Lazy<byte[]> s_repacked = new(static () => Repack(s_bytes.Value));

    /// <summary>The model file copied next to the benchmarks (TestModels/taxi-fare.zip).</summary>
    public static string FilePath => Path.Combine(AppContext.BaseDirectory, "TestModels", "taxi-fare.zip");

    /// <summary>The model file's bytes.</summary>
    public static byte[] Bytes => s_bytes.Value;

    /// <summary>
    /// The same model in a zip written again with other entry timestamps: other bytes, so another SHA-256 and a real
    /// reload, with the same load cost. Stands in for "the next version of the model" in refresh-ahead runs.
    /// </summary>
    public static byte[] RepackedBytes => s_repacked.Value;

    /// <summary>The loader: <c>MLContext.Model.Load(stream, out _)</c> over the artifact's bytes.</summary>
    public static ValueTask<ITransformer> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using Stream stream = artifact.OpenRead();
        ITransformer model = s_mlContext.Model.Load(stream, out _);
        return ValueTask.FromResult(model);
    }

    /// <summary>Registers the model file as the source and <see cref="LoadAsync"/> as the loader.</summary>
    public static void FromFile(ModelBuilder<ITransformer> model) => model.FromFile(FilePath).UseLoader(LoadAsync);

    /// <summary>
    /// Registers a source that serves <see cref="Bytes"/> and <see cref="RepackedBytes"/> in turn, so every
    /// refresh finds new content and really loads and swaps (same content would be "unchanged", no reload), and
    /// <see cref="LoadAsync"/> as the loader, reporting each load to <paramref name="probe"/>.
    /// </summary>
    /// <param name="model">The model to register.</param>
    /// <param name="probe">Told when each load starts and ends.</param>
    public static void FromAlternatingVersions(ModelBuilder<ITransformer> model, ReloadProbe probe)
    {
        byte[][] versions = [Bytes, RepackedBytes];
        int fetches = 0;
        model.FromStream(
                _ => ValueTask.FromResult<Stream>(new MemoryStream(versions[Interlocked.Increment(ref fetches) & 1], writable: false)),
                "memory:taxi-fare (two versions in turn)")
            .UseLoader((artifact, cancellationToken) =>
            {
                probe.OnLoadStarted();
                try
                {
                    return LoadAsync(artifact, cancellationToken);
                }
                finally
                {
                    probe.OnLoadEnded();
                }
            });
    }

    private static byte[] Repack(byte[] original)
    {
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(original), ZipArchiveMode.Read))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (ZipArchiveEntry entry in source.Entries)
            {
                ZipArchiveEntry copy = target.CreateEntry(entry.FullName, CompressionLevel.Optimal);
                copy.LastWriteTime = entry.LastWriteTime.AddMinutes(1);
                using Stream from = entry.Open();
                using Stream to = copy.Open();
                from.CopyTo(to);
            }
        }

        return output.ToArray();
    }
}
