using Microsoft.ML;
using ZiggyCreatures.Caching.Fusion;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// Hot reload with fail-safe on FusionCache 2.9.0: fail-safe and eager refresh are options; a file change expires the
/// entry (with fail-safe on, <c>Expire</c> keeps the old value as a fallback while the next call loads). Lines between
/// the markers are counted by <c>--harness peer-loc</c>.
/// </summary>
internal sealed class FusionCacheHotReload : IHotReloadingModel
{
    // user code begins
    private readonly MLContext _ml = new();
    private readonly IFusionCache _cache;
    private readonly string _path;
    private readonly FileSystemWatcher _watcher;
    private readonly Func<FusionCacheFactoryExecutionContext<ModelHolder>, CancellationToken, ModelHolder> _load;

    public FusionCacheHotReload(IFusionCache cache, string path, TimeSpan idle)
    {
        _cache = cache;
        _path = path;
        _load = (_, _) => new ModelHolder(_ml.Model.Load(_path, out _));
        _cache.DefaultEntryOptions.SetDuration(idle).SetFailSafe(true, TimeSpan.FromDays(1));
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileName(path));
        _watcher.Changed += (_, _) => _cache.Expire("taxi-fare");
        _watcher.Created += (_, _) => _cache.Expire("taxi-fare");
        _watcher.Renamed += (_, _) => _cache.Expire("taxi-fare");
        _watcher.EnableRaisingEvents = true;
    }

    public ITransformer Model => _cache.GetOrSet<ModelHolder>("taxi-fare", _load).Model;
    // user code ends

    public string Name => "FusionCache 2.9.0";

    public object Hit() => Model;

    public void Reload()
    {
        _cache.Expire("taxi-fare");
        _ = Model;
    }

    /// <summary>The cache the benchmarks made for this peer, disposed with it.</summary>
    public IDisposable? Owner { get; init; }

    public ValueTask DisposeAsync()
    {
        Owner?.Dispose();
        _watcher.Dispose();
        return ValueTask.CompletedTask;
    }
}
