using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// Hot reload with fail-safe written by hand over a static field: load at start, watch the file, swap the field on
/// a good load, keep the old model on a bad one. The lines between the markers are what a user writes (counted by
/// <c>--harness peer-loc</c>).
/// </summary>
internal sealed class StaticFieldHotReload : IHotReloadingModel
{
    // user code begins
    private static volatile ITransformer? s_model;
    private readonly MLContext _ml = new();
    private FileSystemWatcher? _watcher;
    private Timer? _debounce;

    public void Start(string path)
    {
        s_model = _ml.Model.Load(path, out _);
        _debounce = new Timer(_ => ReloadFrom(path));
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileName(path));
        _watcher.Changed += (_, _) => _debounce.Change(500, Timeout.Infinite);
        _watcher.Created += (_, _) => _debounce.Change(500, Timeout.Infinite);
        _watcher.Renamed += (_, _) => _debounce.Change(500, Timeout.Infinite);
        _watcher.EnableRaisingEvents = true;
    }

    public static ITransformer Model => s_model ?? throw new InvalidOperationException("Not loaded.");

    private void ReloadFrom(string path)
    {
        try
        {
            s_model = _ml.Model.Load(path, out _);
        }
        catch (Exception)
        {
            // Fail-safe: keep serving the previous model (log it in a real app).
        }
    }
    // user code ends

    private string _path = "";

    public string Name => "static field";

    public static StaticFieldHotReload Create(string path)
    {
        var peer = new StaticFieldHotReload { _path = path };
        peer.Start(path);
        return peer;
    }

    public object Hit() => Model;

    public void Reload() => ReloadFrom(_path);

    public ValueTask DisposeAsync()
    {
        _watcher?.Dispose();
        _debounce?.Dispose();
        s_model = null;
        return ValueTask.CompletedTask;
    }
}
