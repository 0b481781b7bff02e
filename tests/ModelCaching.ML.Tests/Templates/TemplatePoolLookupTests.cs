using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Templates;

/// <summary>The per-name lookup of a template model's pool: a hot path (no allocation on a hit), and one pool per model under contention.</summary>
public sealed class TemplatePoolLookupTests : IDisposable
{
    private readonly TenantModelFolder _tenants = new TenantModelFolder().Add(TestModels.IrisPath, "tenant-1", "tenant-2");
    private readonly CountingModelLoader _loader = new(PoolFactory.Context);

    public void Dispose() => _tenants.Dispose();

    private ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>();
        services.AddModelCache().AddModelTemplate<ITransformer>("tenants", t => t.FromFile(_tenants.PathTemplate).UseLoader(_loader).WithPredictionPool<IrisData, IrisPrediction>(), o => o.NamePrefix = "tenant-");
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task GetPool_ForALoadedTemplateModel_AllocatesNothing()
    {
        await using ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        var output = new IrisPrediction();
        provider.Predict("tenant-1", TestModels.Setosa, ref output);
        provider.Predict("tenant-2", TestModels.Setosa, ref output);

        // The first lookup after a model has served remembers its name (once); every later one is a single dictionary read.
        provider.GetPool("tenant-1");
        provider.GetPool("tenant-2");

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            provider.GetPool((i & 1) == 0 ? "tenant-1" : "tenant-2");
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task CompatibilityPool_ForALoadedTemplateModel_FindsItsPoolWithoutAllocating()
    {
        await using ServiceProvider services = Build();
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        Assert.Equal(0f, pool.Predict("tenant-1", TestModels.Setosa).PredictedLabel);
        Assert.Equal(0f, pool.Predict("tenant-2", TestModels.Setosa).PredictedLabel);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            pool.GetPool((i & 1) == 0 ? "tenant-1" : "tenant-2");
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task CompatibilityPool_ForATemplateWithAPredictionPool_SharesThePoolOfPredictionPoolProvider()
    {
        await using ServiceProvider services = Build();
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();

        Assert.Equal(2f, pool.Predict("tenant-2", TestModels.Virginica).PredictedLabel);

        Assert.Same(provider.GetPool("tenant-2"), pool.GetPool("tenant-2"));
        pool.Dispose();
        Assert.Equal(0f, provider.Predict("tenant-2", TestModels.Setosa).PredictedLabel); // not disposed by the pool that shared it
    }

    [Fact]
    public async Task CompatibilityPool_ForARegisteredModelWithAPredictionPool_SharesItsKeyedPool()
    {
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddPredictionEnginePool<IrisData, IrisPrediction>();
        services.AddModelCache().AddModel<ITransformer>("iris", m => m.FromFile(TestModels.IrisPath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>());
        await using ServiceProvider built = services.BuildServiceProvider();
        var pool = built.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        Assert.Equal(2f, pool.Predict("iris", TestModels.Virginica).PredictedLabel);

        Assert.Same(built.GetRequiredKeyedService<PredictionPool<IrisData, IrisPrediction>>("iris"), pool.GetPool("iris"));
    }

    [Fact]
    public async Task GetPool_FirstCalledOnEveryCoreAtOnce_MakesOnePoolAndOneLoad()
    {
        await using ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        int threads = Math.Max(4, Environment.ProcessorCount * 2);
        using var start = new Barrier(threads);
        var pools = new PredictionPool<IrisData, IrisPrediction>[threads];
        int failures = 0;

        Thread[] workers = [.. Enumerable.Range(0, threads).Select(i => new Thread(() =>
        {
            start.SignalAndWait(Eventually.Timeout);
            try
            {
                pools[i] = provider.GetPool("tenant-1");
                if (pools[i].Predict(TestModels.Virginica).PredictedLabel != 2f)
                {
                    Interlocked.Increment(ref failures);
                }
            }
            catch (Exception)
            {
                Interlocked.Increment(ref failures);
            }
        }))];
        foreach (Thread worker in workers)
        {
            worker.Start();
        }

        foreach (Thread worker in workers)
        {
            Assert.True(worker.Join(Eventually.Timeout));
        }

        Assert.Equal(0, failures);
        Assert.All(pools, p => Assert.Same(pools[0], p));
        Assert.Single(_loader.LoadedFor("tenant-1"));
    }
}
