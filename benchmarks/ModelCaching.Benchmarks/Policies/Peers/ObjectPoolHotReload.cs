using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>
/// Hot reload with fail-safe written by hand over a <see cref="DefaultObjectPool{T}"/> of prediction engines: one pool
/// per loaded model, swapped on a good load. Engines of the old pool are not disposed (a user who disposes them risks
/// disposing one still in use; the old pool is left to the GC). Lines between the markers are counted by
/// <c>--harness peer-loc</c>.
/// </summary>
internal sealed class ObjectPoolHotReload : IHotReloadingModel
{
    // user code begins
    private readonly MLContext _ml = new();
    private readonly string _path;
    private readonly FileSystemWatcher _watcher;
    private readonly Timer _debounce;
    private volatile DefaultObjectPool<PredictionEngine<TaxiTrip, TaxiFarePrediction>> _pool;

    public ObjectPoolHotReload(string path)
    {
        _path = path;
        _pool = CreatePool(_ml.Model.Load(path, out _));
        _debounce = new Timer(_ => Reload());
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileName(path));
        _watcher.Changed += (_, _) => _debounce.Change(500, Timeout.Infinite);
        _watcher.Created += (_, _) => _debounce.Change(500, Timeout.Infinite);
        _watcher.Renamed += (_, _) => _debounce.Change(500, Timeout.Infinite);
        _watcher.EnableRaisingEvents = true;
    }

    public DefaultObjectPool<PredictionEngine<TaxiTrip, TaxiFarePrediction>> Pool => _pool;

    public void Reload()
    {
        try
        {
            _pool = CreatePool(_ml.Model.Load(_path, out _));
        }
        catch (Exception)
        {
            // Fail-safe: keep serving the previous pool (log it in a real app).
        }
    }

    private DefaultObjectPool<PredictionEngine<TaxiTrip, TaxiFarePrediction>> CreatePool(ITransformer model) =>
        new(new EnginePolicy(_ml, model), Environment.ProcessorCount * 2);

    private sealed class EnginePolicy(MLContext ml, ITransformer model) : PooledObjectPolicy<PredictionEngine<TaxiTrip, TaxiFarePrediction>>
    {
        public override PredictionEngine<TaxiTrip, TaxiFarePrediction> Create() =>
            ml.Model.CreatePredictionEngine<TaxiTrip, TaxiFarePrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });

        public override bool Return(PredictionEngine<TaxiTrip, TaxiFarePrediction> obj) => true;
    }
    // user code ends

    public string Name => "ObjectPool<PredictionEngine>";

    public object Hit()
    {
        // A pool hands out engines, not the model: a "hit" is a rent and a return.
        DefaultObjectPool<PredictionEngine<TaxiTrip, TaxiFarePrediction>> pool = _pool;
        PredictionEngine<TaxiTrip, TaxiFarePrediction> engine = pool.Get();
        pool.Return(engine);
        return engine;
    }

    public ValueTask DisposeAsync()
    {
        _watcher.Dispose();
        _debounce.Dispose();
        return ValueTask.CompletedTask;
    }
}
