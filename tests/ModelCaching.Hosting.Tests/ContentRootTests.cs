using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelCaching.Tests.Support;

namespace ModelCaching.Hosting.Tests;

/// <summary>
/// In a host, relative model paths (FromFile, FilePath in configuration, a template's path) resolve against the host's
/// content root, not the current directory; absolute paths stay; without a host the current directory applies
/// (issue 20, item 3).
/// </summary>
public sealed class ContentRootTests : IDisposable
{
    // The content root: a directory that is not the current one, holding models/taxi-fare.txt and models/tenants/*.txt.
    private readonly string _root = Path.Combine(Path.GetTempPath(), "modelcaching-root-" + Guid.NewGuid().ToString("N"));

    public ContentRootTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "models", "tenants"));
        File.WriteAllText(Path.Combine(_root, "models", "taxi-fare.txt"), "from the content root");
        File.WriteAllText(Path.Combine(_root, "models", "tenants", "tenant-1.txt"), "tenant-1 from the content root");
        Assert.NotEqual(Path.GetFullPath(_root), Path.GetFullPath(Environment.CurrentDirectory));
        Assert.False(File.Exists(Path.Combine(Environment.CurrentDirectory, "models", "taxi-fare.txt")));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private IHost Build(Action<IModelCacheBuilder> models, Dictionary<string, string?>? settings = null)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _root });
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings ?? []).Build();
        models(builder.Services.AddModelCache(configuration.GetSection("ModelCache")).AddHostedStartup());
        return builder.Build();
    }

    [Fact]
    public async Task FromFile_WithARelativePath_ReadsTheFileUnderTheContentRoot()
    {
        using IHost host = Build(cache => cache.AddModel<FakeModel>("taxi-fare", m => m.FromFile("models/taxi-fare.txt").UseLoader(new FakeLoader())));
        await host.StartAsync();

        IModelCache<FakeModel> cache = host.Services.GetRequiredKeyedService<IModelCache<FakeModel>>("taxi-fare");

        Assert.Equal("from the content root", (await cache.GetModelAsync()).Content);
        Assert.Equal($"file:{Path.Combine(_root, "models", "taxi-fare.txt")}", cache.Version!.Source);
        await host.StopAsync();
    }

    [Fact]
    public async Task FilePathFromConfiguration_WithARelativePath_ReadsTheFileUnderTheContentRoot()
    {
        using IHost host = Build(
            cache => cache.AddModel<FakeModel>("taxi-fare", m => m.UseLoader(new FakeLoader())),
            new() { ["ModelCache:Models:taxi-fare:FilePath"] = "models/taxi-fare.txt" });
        await host.StartAsync();

        IModelCache<FakeModel> cache = host.Services.GetRequiredKeyedService<IModelCache<FakeModel>>("taxi-fare");

        Assert.Equal("from the content root", (await cache.GetModelAsync()).Content);
        await host.StopAsync();
    }

    [Fact]
    public async Task TemplateFromFile_WithARelativePath_ReadsEachModelUnderTheContentRoot()
    {
        using IHost host = Build(cache => cache.AddModelTemplate<FakeModel>("tenants", t => t.FromFile("models/tenants/{name}.txt").UseLoader(new FakeLoader())));
        await host.StartAsync();

        IModelCache<FakeModel> cache = host.Services.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("tenant-1");

        Assert.Equal("tenant-1 from the content root", (await cache.GetModelAsync()).Content);
        await host.StopAsync();
    }

    [Fact]
    public async Task FromFile_WithAnAbsolutePath_ReadsThatFile()
    {
        string elsewhere = Path.Combine(Path.GetTempPath(), "modelcaching-abs-" + Guid.NewGuid().ToString("N") + ".txt");
        File.WriteAllText(elsewhere, "absolute");
        try
        {
            using IHost host = Build(cache => cache.AddModel<FakeModel>("abs", m => m.FromFile(elsewhere).UseLoader(new FakeLoader())));
            await host.StartAsync();

            IModelCache<FakeModel> cache = host.Services.GetRequiredKeyedService<IModelCache<FakeModel>>("abs");

            Assert.Equal("absolute", (await cache.GetModelAsync()).Content);
            await host.StopAsync();
        }
        finally
        {
            File.Delete(elsewhere);
        }
    }

    [Fact]
    public async Task WithoutAHost_ARelativePathResolvesAgainstTheCurrentDirectory()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModel<FakeModel>("taxi-fare", m => m.FromFile("models/taxi-fare.txt").UseLoader(new FakeLoader()));
        await using ServiceProvider provider = services.BuildServiceProvider();

        IModelCache<FakeModel> cache = provider.GetRequiredKeyedService<IModelCache<FakeModel>>("taxi-fare");

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());
        Assert.Contains(Path.Combine(Environment.CurrentDirectory, "models", "taxi-fare.txt"), error.Message, StringComparison.Ordinal);
    }
}
