using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace ModelCaching.Samples.WebApi.Publishing;

/// <summary>
/// Publishes a model version the way a deployment should: the new file is written next to the served one
/// under a temporary name, flushed to disk, then renamed over it. A rename within one directory is atomic,
/// so the file watcher never sees a half-written model.
/// </summary>
public sealed class ModelPublisher
{
    /// <summary>The bundled versions that can be published, by name: <c>v1</c> (the original taxi-fare model) and <c>v2</c> (the same model with a 10% surcharge).</summary>
    public static readonly IReadOnlyDictionary<string, string> BundledVariants = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["v1"] = "Models/taxi-fare.zip",
        ["v2"] = "Models/taxi-fare-v2.zip",
    };

    private readonly SampleOptions _options;
    private readonly ILogger<ModelPublisher> _logger;

    /// <summary>Creates the publisher; the container does this.</summary>
    public ModelPublisher(IOptions<SampleOptions> options, ILogger<ModelPublisher> logger)
    {
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>The served model file that the cache watches.</summary>
    public string ModelPath => _options.ResolveModelPath();

    /// <summary>
    /// Publishes <see cref="SampleOptions.SeedModel"/> over the served file, so that every run of the sample starts
    /// from the same version. Does nothing when <see cref="SampleOptions.SeedModel"/> is empty.
    /// </summary>
    /// <returns><see langword="true"/> when a model was published.</returns>
    public bool PublishSeedModel()
    {
        Directory.CreateDirectory(_options.ResolveModelDirectory());
        if (string.IsNullOrWhiteSpace(_options.SeedModel))
        {
            return false;
        }

        PublishFile(Path.GetFullPath(_options.SeedModel, AppContext.BaseDirectory));
        return true;
    }

    /// <summary>Publishes one of the <see cref="BundledVariants"/>.</summary>
    /// <exception cref="KeyNotFoundException">There is no bundled variant of that name.</exception>
    public PublishResponse PublishVariant(string variant)
    {
        if (!BundledVariants.TryGetValue(variant, out string? relativePath))
        {
            throw new KeyNotFoundException($"There is no bundled model variant '{variant}'; known variants: {string.Join(", ", BundledVariants.Keys)}.");
        }

        string sha256 = PublishFile(Path.Combine(AppContext.BaseDirectory, relativePath));
        _logger.LogInformation("Published model variant {Variant} (SHA-256 {Sha256}); the file watcher reloads the model.", variant, sha256);
        return new PublishResponse(variant, ModelPath, sha256);
    }

    /// <summary>Writes <paramref name="sourcePath"/> over the served model atomically (temporary file, flush, rename).</summary>
    /// <returns>The SHA-256 of the published content, which becomes the model's version id once it loads.</returns>
    public string PublishFile(string sourcePath)
    {
        string target = ModelPath;
        string directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);

        // Same directory as the target: a rename across file systems would be a copy, and not atomic.
        string temporary = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        byte[] hash;
        try
        {
            using (FileStream source = File.OpenRead(sourcePath))
            using (var destination = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                source.CopyTo(destination);
                destination.Flush(flushToDisk: true);
            }

            using (FileStream written = File.OpenRead(temporary))
            {
                hash = SHA256.HashData(written);
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        string sha256 = Convert.ToHexStringLower(hash);
        _logger.LogInformation("Wrote {Source} over {Target} atomically (SHA-256 {Sha256}).", sourcePath, target, sha256);
        return sha256;
    }
}
