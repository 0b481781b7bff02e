using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

// Stands for the race "the cache unloads (Invalidate / idle) between the pool's GetModel() and its Acquire()".
internal sealed class UnloadAfterGetModel(ModelCache<ITransformer> inner) : IModelCache<ITransformer>
{
    public volatile bool Arm;
    public string Name => inner.Name;
    public Type ModelType => inner.ModelType;
    public ModelCacheState State => inner.State;
    public ModelVersion? Version => inner.Version;
    public string SourceDescription => inner.SourceDescription;
    public event EventHandler<ModelReloadedEventArgs>? Reloaded { add => inner.Reloaded += value; remove => inner.Reloaded -= value; }
    public event EventHandler<ModelUnloadedEventArgs>? Unloaded { add => inner.Unloaded += value; remove => inner.Unloaded -= value; }
    public Task<ModelVersion> ReloadAsync(CancellationToken c = default) => inner.ReloadAsync(c);
    public Task<ModelVersion> RollbackAsync(CancellationToken c = default) => inner.RollbackAsync(c);
    public void Invalidate() => inner.Invalidate();
    public ModelCacheStatistics GetStatistics() => inner.GetStatistics();
    public IReadOnlyList<ModelLoadRecord> GetHistory() => inner.GetHistory();
    public ITransformer GetModel()
    {
        ITransformer model = inner.GetModel();
        if (Arm)
        {
            Arm = false;
            Task.Run(inner.Invalidate).Wait();
        }

        return model;
    }
    public ValueTask<ITransformer> GetModelAsync(CancellationToken c = default) => inner.GetModelAsync(c);
    public ModelLease<ITransformer> Acquire() => inner.Acquire();
    public ValueTask<ModelLease<ITransformer>> AcquireAsync(CancellationToken c = default) => inner.AcquireAsync(c);
}

/// <summary>Found in review: an unload between the pool's GetModel() and its Acquire() deadlocked the pool and the cache.</summary>
public sealed class DeadlockRegressionTests
{
    [Fact]
    public async Task UnloadBetweenGetModelAndAcquire_DoesNotDeadlock()
    {
        using ModelCache<ITransformer> cache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "iris");
        var wrapper = new UnloadAfterGetModel(cache);
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(wrapper);
        cache.GetModel();
        wrapper.Arm = true;
        IrisPrediction prediction = await Task.Run(() => pool.Predict(TestModels.Setosa)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0f, prediction.PredictedLabel);
        Assert.Equal(ModelCacheState.Ready, cache.State);
    }
}
