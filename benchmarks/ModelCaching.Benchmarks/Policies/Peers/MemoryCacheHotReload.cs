using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.FileProviders;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// Hot reload with fail-safe written by hand over <see cref="IMemoryCache"/>: <c>GetOrCreate</c> loads on first use
/// with a sliding expiration (to free an idle model) and a file change token (to drop the entry on change). The cache
/// has no fail-safe, so the last good model is kept beside it and served when a load fails. Lines between the
/// markers are counted by <c>--harness peer-loc</c>.
/// </summary>
internal sealed class MemoryCacheHotReload : IHotReloadingModel
{
    // user code begins
    private readonly MLContext _ml = new();
    private readonly IMemoryCache _cache;
    private readonly PhysicalFileProvider _files;
    private readonly string _fileName;
    private readonly TimeSpan _idle;
    private volatile ITransformer? _lastGood;

    public MemoryCacheHotReload(IMemoryCache cache, string path, TimeSpan idle)
    {
        _cache = cache;
        _idle = idle;
        _files = new PhysicalFileProvider(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _fileName = Path.GetFileName(path);
    }

    public ITransformer Model => _cache.GetOrCreate("taxi-fare", entry =>
    {
        entry.SlidingExpiration = _idle;
        entry.AddExpirationToken(_files.Watch(_fileName));
        try
        {
            using Stream stream = _files.GetFileInfo(_fileName).CreateReadStream();
            return _lastGood = _ml.Model.Load(stream, out _);
        }
        catch (Exception) when (_lastGood is not null)
        {
            // Fail-safe: serve the previous model for a short while, then try again.
            entry.AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(10);
            return _lastGood;
        }
    })!;
    // user code ends

    public string Name => "MemoryCache";

    public object Hit() => Model;

    public void Reload()
    {
        // What the file's change token does: drop the entry; the next call loads again (on the caller's thread).
        _cache.Remove("taxi-fare");
        _ = Model;
    }

    /// <summary>The cache the benchmarks made for this peer, disposed with it.</summary>
    public IDisposable? Owner { get; init; }

    public ValueTask DisposeAsync()
    {
        Owner?.Dispose();
        _files.Dispose();
        return ValueTask.CompletedTask;
    }
}
