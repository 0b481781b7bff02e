using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// Hot reload with fail-safe on Microsoft.Extensions.Caching.Hybrid 10.11.0. HybridCache serializes values unless the
/// type is sealed and marked immutable, so the model goes in a <see cref="ModelHolder"/>. It has no fail-safe: a file
/// change loads the new model first and replaces the entry only when the load worked. Lines between the markers are
/// counted by <c>--harness peer-loc</c>.
/// </summary>
internal sealed class HybridCacheHotReload : IHotReloadingModel
{
    // user code begins
    private readonly MLContext _ml = new();
    private readonly HybridCache _cache;
    private readonly string _path;
    private readonly FileSystemWatcher _watcher;
    private readonly Timer _debounce;
    private readonly HybridCacheEntryOptions _entry;

    public HybridCacheHotReload(HybridCache cache, string path, TimeSpan idle)
    {
        _cache = cache;
        _entry = new HybridCacheEntryOptions { Expiration = idle, LocalCacheExpiration = idle };
        _path = path;
        _debounce = new Timer(_ => Reload());
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileName(path));
        _watcher.Changed += (_, _) => _debounce.Change(500, Timeout.Infinite);
        _watcher.Created += (_, _) => _debounce.Change(500, Timeout.Infinite);
        _watcher.Renamed += (_, _) => _debounce.Change(500, Timeout.Infinite);
        _watcher.EnableRaisingEvents = true;
    }

    public ValueTask<ModelHolder> GetAsync() =>
        _cache.GetOrCreateAsync("taxi-fare", this, static (self, cancellationToken) => ValueTask.FromResult(new ModelHolder(self._ml.Model.Load(self._path, out _))), _entry);

    public void Reload()
    {
        try
        {
            var next = new ModelHolder(_ml.Model.Load(_path, out _));
            _cache.SetAsync("taxi-fare", next, _entry).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            // Fail-safe: keep serving the previous model (log it in a real app).
        }
    }
    // user code ends

    public string Name => "HybridCache 10.11.0";

    public object Hit() => GetAsync().Result.Model;

    /// <summary>The cache the benchmarks made for this peer, disposed with it.</summary>
    public IDisposable? Owner { get; init; }

    public ValueTask DisposeAsync()
    {
        Owner?.Dispose();
        _watcher.Dispose();
        _debounce.Dispose();
        return ValueTask.CompletedTask;
    }
}
