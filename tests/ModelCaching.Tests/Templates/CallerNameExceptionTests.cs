using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Templates;

/// <summary>
/// The failures a caller's model name can meet have their own types, derived from the types thrown before (so code that
/// catches those keeps working), carrying the model and the cause for a problem detail.
/// </summary>
public sealed class CallerNameExceptionTests : IDisposable
{
    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task UnknownName_IsAModelNotFoundException_WithTheNameAndTheKnownModels()
    {
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModel<FakeModel>("scorer", m => m.FromSource(new MutableSource("v1")).UseLoader(new FakeLoader()))
            .AddModelTemplate<FakeModel>("tenants", t => t.FromFile(_files.PathTemplate).UseLoader(_files.Loader), o => o.NamePrefix = "tenant-");
        await using ServiceProvider provider = services.BuildServiceProvider();

        ModelNotFoundException error = Assert.Throws<ModelNotFoundException>(() => provider.GetRequiredService<IModelCacheProvider>().GetCache("scorrer"));

        Assert.IsAssignableFrom<KeyNotFoundException>(error);
        Assert.Equal("scorrer", error.ModelName);
        Assert.Equal(["scorer"], error.KnownModels);
    }

    [Fact]
    public async Task InvalidName_IsAnInvalidModelNameException_WithTheTemplateAndTheRuleBroken()
    {
        await using ServiceProvider services = _files.Services().BuildServiceProvider();

        InvalidModelNameException error = Assert.Throws<InvalidModelNameException>(() => services.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("../etc"));

        Assert.IsAssignableFrom<ArgumentException>(error);
        Assert.Equal("name", error.ParamName);
        Assert.Equal("../etc", error.ModelName);
        Assert.Equal("tenants", error.TemplateName);
        Assert.Equal("character '/' at position 2 is not allowed (use ASCII letters, digits, '-', '_' and '.')", error.Problem);
    }

    [Fact]
    public async Task TemplateNameWithoutAFile_IsATemplateModelNotFoundException_AlsoForALaterCaller()
    {
        await using ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCache<FakeModel> cache = services.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("tenant-7");

        TemplateModelNotFoundException first = Assert.Throws<TemplateModelNotFoundException>(() => cache.GetModel());
        TemplateModelNotFoundException again = Assert.Throws<TemplateModelNotFoundException>(() => cache.GetModel());

        Assert.IsAssignableFrom<ModelLoadException>(first);
        Assert.Equal("tenant-7", first.ModelName);
        Assert.Equal("tenants", first.TemplateName);
        Assert.IsType<FileNotFoundException>(first.InnerException);
        Assert.NotSame(first, again);
        Assert.Equal("tenants", again.TemplateName);
    }

    [Fact]
    public async Task RegisteredModelWithoutItsFile_StaysAPlainModelLoadException()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModel<FakeModel>("scorer", m => m.FromFile(Path.Combine(_files.Directory, "missing.bin")).UseLoader(_files.Loader));
        await using ServiceProvider provider = services.BuildServiceProvider();

        ModelLoadException error = Assert.Throws<ModelLoadException>(() => provider.GetRequiredKeyedService<IModelCache<FakeModel>>("scorer").GetModel());

        Assert.IsType<FileNotFoundException>(error.InnerException);
    }
}
