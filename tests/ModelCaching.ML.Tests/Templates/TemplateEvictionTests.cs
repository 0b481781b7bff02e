using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Templates;

/// <summary>
/// Template models with prediction pools under a memory budget that fits 2 of 3 models: an evicted model keeps its
/// cache and its pool, and an engine still rented on it keeps it from being disposed; its bytes count as draining.
/// </summary>
public sealed class TemplateEvictionTests : IDisposable
{
    private static readonly long IrisBytes = new FileInfo(TestModels.IrisPath).Length;
    private static readonly string[] Tenants = ["tenant-a", "tenant-b", "tenant-c"];

    private readonly TenantModelFolder _tenants = new TenantModelFolder().Add(TestModels.IrisPath, Tenants);
    private readonly CountingModelLoader _loader = new(PoolFactory.Context);

    public void Dispose() => _tenants.Dispose();

    private ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddModelCache().AddModelTemplate<ITransformer>(
            "tenants",
            t => t.FromFile(_tenants.PathTemplate)
                .UseLoader(_loader)
                .WithPredictionPool<IrisData, IrisPrediction>()
                .Configure(o =>
                {
                    o.DrainDelay = TimeSpan.Zero;
                    o.RollbackRetention = ModelRollbackRetention.None; // the budget below counts the models' own bytes

                    // Uses are then first loads only (one each): the newcomer is worth as much as the cheapest model,
                    // so the budget admits it in place of that model (one eviction, not two).
                    o.TrackHits = false;
                }),
            o =>
            {
                o.NamePrefix = "tenant-";
                o.MemoryBudgetBytes = (2 * IrisBytes) + (IrisBytes / 2); // 2 of the 3 fit
            });
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Evicting_AModelWithARentedEngine_KeepsItUndisposedAndDrainingUntilTheEngineIsReturned()
    {
        await using ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        var caches = services.GetRequiredService<IModelCacheProvider>();
        Assert.Equal(0f, provider.Predict("tenant-a", TestModels.Setosa).PredictedLabel);
        Assert.Equal(0f, provider.Predict("tenant-b", TestModels.Setosa).PredictedLabel);
        PredictionEngineLease<IrisData, IrisPrediction> leaseA = provider.GetPool("tenant-a").Rent();
        PredictionEngineLease<IrisData, IrisPrediction> leaseB = provider.GetPool("tenant-b").Rent();

        // The third model needs room: one of the others is evicted, but its engine is still out.
        Task<IrisPrediction> third = Task.Run(() => provider.Predict("tenant-c", TestModels.Virginica));
        // The budget counts an eviction's bytes as draining a moment before the cache's state reads Evicted: wait until
        // both say the same (one evicted for the newcomer, or both when the newcomer is worth more than either).
        string[] EvictedNow() => [.. Tenants[..2].Where(t => caches.GetCache(t).State == ModelCacheState.Evicted)];
        await Eventually.TrueAsync(
            () => Budget(caches).Evictions >= 1 && EvictedNow().Length > 0 && Budget(caches).DrainingBytes == EvictedNow().Length * IrisBytes,
            "an eviction whose bytes still drain");

        string[] evicted = EvictedNow();
        Assert.NotEmpty(evicted);
        DisposalCountingTransformer[] evictedModels = [.. evicted.Select(t => Assert.Single(_loader.LoadedFor(t)))];
        Assert.All(evictedModels, m => Assert.Equal(0, m.Disposals));
        Assert.Equal(2f, leaseA.Engine.Predict(TestModels.Virginica).PredictedLabel);
        Assert.Equal(2f, leaseB.Engine.Predict(TestModels.Virginica).PredictedLabel);
        ModelMemoryBudgetStatus held = Budget(caches);
        Assert.Equal(evicted.Length * IrisBytes, held.DrainingBytes);
        Assert.True(held.UsedBytes <= held.LimitBytes, $"{held.UsedBytes:N0} bytes used, limit {held.LimitBytes:N0}");

        leaseA.Dispose();
        leaseB.Dispose();

        Assert.Equal(2f, (await third.WaitAsync(Eventually.Timeout)).PredictedLabel);
        await Eventually.TrueAsync(() => evictedModels.All(m => m.Disposals == 1) && Budget(caches).DrainingBytes == 0, "the evicted models disposed once their engines came back");
        Assert.All(evictedModels, m => Assert.Equal(1, m.Disposals));
        Assert.All(evicted, t => Assert.Equal(ModelCacheState.Evicted, caches.GetCache(t).State));
        foreach (string tenant in Tenants.Where(t => caches.GetCache(t).State == ModelCacheState.Ready))
        {
            Assert.All(_loader.LoadedFor(tenant), m => Assert.Equal(0, m.Disposals));
        }
    }

    [Fact]
    public async Task AnEvictedModel_KeepsItsCacheAndItsPool_AndTheNextPredictionLoadsItAgain()
    {
        await using ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        var caches = services.GetRequiredService<IModelCacheProvider>();
        var pools = Tenants.ToDictionary(t => t, provider.GetPool);
        foreach (string tenant in Tenants)
        {
            Assert.Equal(0f, provider.Predict(tenant, TestModels.Setosa).PredictedLabel);
        }

        await Eventually.TrueAsync(() => Tenants.Any(t => caches.GetCache(t).State == ModelCacheState.Evicted), "one of the three evicted");
        string evicted = Tenants.First(t => caches.GetCache(t).State == ModelCacheState.Evicted);
        await Eventually.TrueAsync(() => Budget(caches).DrainingBytes == 0, "the evicted model's engines released");

        Assert.Same(pools[evicted], provider.GetPool(evicted));
        Assert.Equal(0, pools[evicted].CurrentGenerationLiveEngines);
        Assert.Equal(2f, provider.Predict(evicted, TestModels.Virginica).PredictedLabel);
        Assert.Equal(ModelCacheState.Ready, caches.GetCache(evicted).State);
        Assert.Equal(2, _loader.LoadedFor(evicted).Length);
        Assert.Equal(1, _loader.LoadedFor(evicted)[0].Disposals);
    }

    private static ModelMemoryBudgetStatus Budget(IModelCacheProvider caches) => Assert.Single(caches.GetMemoryBudgets(), b => b.Scope == "tenants");
}
