using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// No engine owns the model (issue 8.4): a model with disposable parts is disposed once, by its generation,
/// after its last lease; never by the schema check's probe, a dropped engine or a retired generation's engines.
/// </summary>
public sealed class ModelOwnershipTests
{
    [Fact]
    public void SchemaCheck_DisposesItsProbeEngine_ButNotTheModel()
    {
        using var models = new CountingModels();

        models.Cache.GetModel();

        Assert.Equal(1, models.LoadCount);
        Assert.Equal(0, models.Loaded(0).Disposals);
    }

    [Fact]
    public void PredictionPool_RentingAndReturningMoreEnginesThanItKeeps_NeverDisposesTheModel()
    {
        using var models = new CountingModels();
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache, o => o.MaximumEngines = 2);

        PredictionEngineLease<IrisData, IrisPrediction>[] leases = [.. Enumerable.Range(0, 6).Select(_ => pool.Rent())];
        foreach (PredictionEngineLease<IrisData, IrisPrediction> lease in leases)
        {
            Assert.Equal(2f, lease.Engine.Predict(TestModels.Virginica).PredictedLabel);
            lease.Dispose();
        }

        Assert.True(pool.GetStatistics().EnginesDisposed >= 4, "the engines beyond the maximum were dropped");
        Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
        Assert.Equal(0, models.Loaded(0).Disposals);
    }

    [Fact]
    public void CompatibilityPool_RentingAndReturningMoreEnginesThanItKeeps_NeverDisposesTheModel()
    {
        var model = new DisposalCountingTransformer(PoolFactory.Context.Model.Load(TestModels.IrisPath, out _));
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>();
        services.Configure<PredictionEnginePoolOptions<IrisData, IrisPrediction>>(o => o.ModelLoader = new FixedModelLoader(model));
        using ServiceProvider provider = services.BuildServiceProvider();
        PredictionEnginePool<IrisData, IrisPrediction> pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        int keeps = pool.GetPool(string.Empty).MaximumEngines;

        PredictionEngine<IrisData, IrisPrediction>[] engines = [.. Enumerable.Range(0, keeps + 4).Select(_ => pool.GetPredictionEngine())];
        foreach (PredictionEngine<IrisData, IrisPrediction> engine in engines)
        {
            Assert.Equal(2f, engine.Predict(TestModels.Virginica).PredictedLabel);
            pool.ReturnPredictionEngine(engine);
        }

        Assert.True(pool.GetPool(string.Empty).GetStatistics().EnginesDisposed >= 4, "the engines beyond the maximum were dropped");
        Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
        Assert.Equal(0, model.Disposals);
    }

    [Fact]
    public async Task Reload_WithGenerationRetention_RetiresTheOldEnginesButNotTheKeptModel()
    {
        using var models = new CountingModels(ModelRollbackRetention.Generation);
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        pool.Predict(TestModels.Virginica);
        using (pool.Rent())
        using (pool.Rent())
        {
        }

        models.NextVersion();
        await models.Cache.ReloadAsync();
        Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);

        Assert.Equal(2, models.LoadCount);
        await Eventually.TrueAsync(
            () => pool.GetStatistics() is var s && s.EnginesDisposed == s.EnginesCreated - pool.CurrentGenerationLiveEngines,
            "the old generation's engines are disposed");
        Assert.Equal(0, models.Loaded(0).Disposals);
        Assert.Equal(0, models.Loaded(1).Disposals);
    }

    [Fact]
    public async Task InstantRollback_ServesTheKeptModelUndisposed_AndItsFinalRetirementDisposesItExactlyOnce()
    {
        using var models = new CountingModels(ModelRollbackRetention.Generation);
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(models.Cache);
        pool.Predict(TestModels.Virginica);
        models.NextVersion();
        await models.Cache.ReloadAsync();
        pool.Predict(TestModels.Virginica);

        await models.Cache.RollbackAsync();
        Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
        Assert.Same(models.Loaded(0), models.Cache.GetModel());
        Assert.Equal(2, models.LoadCount); // instant: no load
        Assert.Equal(0, models.Loaded(0).Disposals);
        await Eventually.TrueAsync(() => models.Loaded(1).Disposals == 1, "the version rolled back from is disposed");

        // Two more versions: the first model is kept for a rollback once more, then finally released.
        models.NextVersion();
        await models.Cache.ReloadAsync();
        pool.Predict(TestModels.Virginica);
        Assert.Equal(0, models.Loaded(0).Disposals);
        models.NextVersion();
        await models.Cache.ReloadAsync();
        pool.Predict(TestModels.Virginica);

        await Eventually.TrueAsync(() => models.Loaded(0).Disposals > 0, "the first model's generation is retired and disposed");
        pool.Predict(TestModels.Virginica);
        Assert.Equal(1, models.Loaded(0).Disposals);
        Assert.Equal(1, models.Loaded(1).Disposals);
        Assert.Equal(0, models.Loaded(2).Disposals); // kept for a rollback
        Assert.Equal(0, models.Loaded(3).Disposals); // serving
    }

    private sealed class FixedModelLoader(ITransformer model) : ModelLoader
    {
        public override IChangeToken GetReloadToken() => new CancellationChangeToken(CancellationToken.None);

        public override ITransformer GetModel() => model;
    }
}
