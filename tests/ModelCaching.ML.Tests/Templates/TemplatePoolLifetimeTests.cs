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

        WeakReference pool = PredictOnMissingModel(provider, "tenant-missing");
        await Eventually.TrueAsync(() => !caches.Names.Contains("tenant-missing"), "the provider forgets the name");

        await Eventually.TrueAsync(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return !pool.IsAlive;
        }, "the forgotten name's pool collected");
        Assert.Equal(0f, provider.Predict("tenant-1", TestModels.Setosa).PredictedLabel);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference PredictOnMissingModel(PredictionPoolProvider<IrisData, IrisPrediction> provider, string name)
    {
        PredictionPool<IrisData, IrisPrediction> pool = provider.GetPool(name);
        Assert.Throws<ModelLoadException>(() => pool.Predict(TestModels.Setosa));
        return new WeakReference(pool);
    }
}
