using System.Collections.Concurrent;
using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Templates;

/// <summary>
/// A temp folder of tenant models: the real models of tests/Shared/TestModels copied at test time under many names
/// (the repository keeps each model once). Deleted on dispose.
/// </summary>
public sealed class TenantModelFolder : IDisposable
{
    public TenantModelFolder()
    {
        Folder = Path.Combine(Path.GetTempPath(), "modelcaching-tenants-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    /// <summary>The template path: <c>{folder}/{name}.zip</c>.</summary>
    public string PathTemplate => Path.Combine(Folder, "{name}.zip");

    /// <summary>Copies <paramref name="model"/> as the model of each name.</summary>
    public TenantModelFolder Add(string model, params IEnumerable<string> names)
    {
        foreach (string name in names)
        {
            File.Copy(model, PathOf(name), overwrite: true);
        }

        return this;
    }

    public string PathOf(string name) => Path.Combine(Folder, name + ".zip");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Loads with ML.NET and wraps every loaded generation in a <see cref="DisposalCountingTransformer"/>, so a test can
/// tell each generation's disposals apart (exactly once, and never while a caller holds it).
/// </summary>
public sealed class CountingModelLoader(MLContext context) : IModelLoader<ITransformer>
{
    private readonly MLNetModelLoader _inner = new(context);
    private readonly ConcurrentQueue<(string Source, DisposalCountingTransformer Model)> _loaded = new();

    /// <summary>Every generation loaded so far, with the file it came from.</summary>
    public IReadOnlyCollection<(string Source, DisposalCountingTransformer Model)> Loaded => _loaded;

    public int LoadCount => _loaded.Count;

    private long _loadTicks;

    /// <summary>The time spent in ML.NET's load, summed over every load.</summary>
    public TimeSpan LoadTime => System.Diagnostics.Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _loadTicks));

    public async ValueTask<ITransformer> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        ITransformer model = await _inner.LoadAsync(artifact, cancellationToken);
        Interlocked.Add(ref _loadTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
        var counted = new DisposalCountingTransformer(model);
        _loaded.Enqueue((artifact.Location, counted));
        return counted;
    }

    /// <summary>The generations loaded from the file of <paramref name="name"/>.</summary>
    public DisposalCountingTransformer[] LoadedFor(string name) =>
        [.. _loaded.Where(l => Path.GetFileNameWithoutExtension(l.Source) == name).Select(static l => l.Model)];
}
