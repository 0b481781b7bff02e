using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Diagnostics;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Templates;

/// <summary>
/// Pools of template models live as long as their caches: nothing (the provider, the pools' metrics) keeps the pool of
/// a name the provider forgot, so names that never load cannot grow memory.
/// </summary>
public sealed class TemplatePoolLifetimeTests : IDisposable
{
    private readonly TenantModelFolder _tenants = new TenantModelFolder().Add(TestModels.IrisPath, "tenant-1");

    public void Dispose() => _tenants.Dispose();

    [Fact]
    public async Task ThePoolOfAForgottenName_IsCollected_NeitherTheProviderNorTheMetricsKeepIt()
    {
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddModelCache().AddModelTemplate<ITransformer>("tenants", t => t.FromFile(_tenants.PathTemplate).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>());
        await using ServiceProvider built = services.BuildServiceProvider();
        var provider = built.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        IModelCacheProvider caches = built.GetRequiredService<IModelCacheProvider>();
        Assert.NotNull(built.GetService<PredictionPoolMetrics>());

        WeakReference pool = PredictOnMissingModel(provider, "tenant-missing", out WeakReference cache);
        await Eventually.TrueAsync(() => !caches.Names.Contains("tenant-missing"), "the provider forgets the name");

        // The cache goes once the core disposed it (after its callers got the error); the pool must go with it.
        bool collected = await CollectedAsync(pool, cache);
        Assert.True(collected, cache.IsAlive ? "the forgotten cache itself is still referenced (by the core)" : "the forgotten cache was collected, but its pool is still referenced");
        Assert.Equal(0f, provider.Predict("tenant-1", TestModels.Setosa).PredictedLabel);
    }

    private static async Task<bool> CollectedAsync(WeakReference pool, WeakReference cache)
    {
        using var timeout = new CancellationTokenSource(Eventually.Timeout);
        while (pool.IsAlive || cache.IsAlive)
        {
            if (timeout.IsCancellationRequested)
            {
                return false;
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(10, CancellationToken.None);
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference PredictOnMissingModel(PredictionPoolProvider<IrisData, IrisPrediction> provider, string name, out WeakReference cacheRef)
    {
        PredictionPool<IrisData, IrisPrediction> pool = provider.GetPool(name);
        cacheRef = new WeakReference(pool.Cache);
        Assert.Throws<TemplateModelNotFoundException>(() => pool.Predict(TestModels.Setosa));
        return new WeakReference(pool);
    }
}
