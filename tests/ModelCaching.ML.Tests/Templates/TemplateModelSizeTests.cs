using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Tests.Support;
using Xunit.Abstractions;

namespace ModelCaching.ML.Tests.Templates;

/// <summary>The size of real ML.NET template models as a budget counts them (issue 11: artifact bytes, allocated bytes).</summary>
public sealed class TemplateModelSizeTests(ITestOutputHelper output) : IDisposable
{
    private readonly TenantModelFolder _tenants = new TenantModelFolder()
        .Add(TestModels.IrisPath, "iris-1", "iris-2", "iris-3")
        .Add(TestModels.TaxiFarePath, "taxi-1", "taxi-2", "taxi-3");

    public void Dispose() => _tenants.Dispose();

    [Fact]
    public async Task AllocatedBytes_OfRealMLNetModels_IsAboveTheFileSizeAndBelow300TimesIt()
    {
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddModelCache().AddModelTemplate<ITransformer>("tenants", t => t.FromFile(_tenants.PathTemplate).UseMLNet().Configure(o => o.SizeMeasure = ModelSizeMeasure.AllocatedBytes));
        await using ServiceProvider built = services.BuildServiceProvider();
        IModelCacheProvider caches = built.GetRequiredService<IModelCacheProvider>();

        // The first load of each kind in the process also allocates ML.NET's one-time state (catalogs, reflection).
        caches.GetCache<ITransformer>("iris-1").GetModel();
        caches.GetCache<ITransformer>("taxi-1").GetModel();
        foreach (string name in new[] { "iris-2", "iris-3", "taxi-2", "taxi-3" })
        {
            IModelCache<ITransformer> cache = caches.GetCache<ITransformer>(name);
            cache.GetModel();
            long file = new FileInfo(_tenants.PathOf(name)).Length;
            long size = cache.Version!.SizeBytes;
            output.WriteLine($"{name}: file {file:N0} bytes, allocated while loading {size:N0} bytes ({(double)size / file:N1}×)");

            // Managed bytes allocated on the load thread: the model's objects (about 6–8× the zip, retained) and the
            // reading's garbage (inflate buffers, streams, about 15× more), so an upper bound of the model's real
            // managed size, about 100–150× the file here. Not megabytes per kilobyte.
            Assert.True(size > file, $"{name}: {size:N0} allocated bytes, not more than the {file:N0}-byte file");
            Assert.True(size < file * 300, $"{name}: {size:N0} allocated bytes, over 300× the {file:N0}-byte file");
        }
    }

    [Fact]
    public async Task ArtifactBytes_OfATemplateModel_IsItsFilesLength()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<ITransformer>("tenants", t => t.FromFile(_tenants.PathTemplate).UseMLNet());
        await using ServiceProvider built = services.BuildServiceProvider();
        IModelCache<ITransformer> cache = built.GetRequiredService<IModelCacheProvider>().GetCache<ITransformer>("taxi-1");

        cache.GetModel();

        Assert.Equal(new FileInfo(TestModels.TaxiFarePath).Length, cache.Version!.SizeBytes);
    }
}
