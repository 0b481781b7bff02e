using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Templates;

/// <summary>Models made by name at run time from a template: found after first use, names checked, missing ones not kept.</summary>
public sealed class TemplateTests : IDisposable
{
    private readonly TenantFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task GetCache_ForANameTheTemplateServes_MakesItOnFirstUseAndFindsItAfter()
    {
        _files.Write("tenant-42");
        await using ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        IModelCache<FakeModel> first = provider.GetCache<FakeModel>("tenant-42");
        IModelCache<FakeModel> again = provider.GetCache<FakeModel>("tenant-42");

        Assert.Same(first, again);
        Assert.Same(first, provider.GetCache("tenant-42"));
        Assert.Equal("tenants", ((ModelCache<FakeModel>)first).TemplateName);
        Assert.StartsWith("tenant-42", first.GetModel().Content, StringComparison.Ordinal);
        Assert.Contains("tenant-42", provider.Names);
    }

    [Fact]
    public async Task EachName_LoadsItsOwnFile()
    {
        _files.Write("alpha");
        _files.Write("beta");
        await using ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        Assert.StartsWith("alpha", provider.GetCache<FakeModel>("alpha").GetModel().Content, StringComparison.Ordinal);
        Assert.StartsWith("beta", provider.GetCache<FakeModel>("beta").GetModel().Content, StringComparison.Ordinal);
        Assert.EndsWith("alpha.bin", provider.GetCache("alpha").SourceDescription, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../../etc/passwd", "character '/' at position 2")]
    [InlineData("..", "must start with a letter or a digit")]
    [InlineData("", "must not be empty")]
    [InlineData("tenant 1", "character U+0020 at position 6")]
    [InlineData("tenant\n1", "character U+000A at position 6")]
    [InlineData("c:evil", "character ':' at position 1")]
    [InlineData("tenant%2F..", "character '%' at position 6")]
    public async Task AnInvalidName_IsRejectedBeforeItReachesThePath(string name, string reason)
    {
        await using ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();

        ArgumentException error = Assert.Throws<InvalidModelNameException>(() => provider.GetCache<FakeModel>(name));

        Assert.Contains("template 'tenants'", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Empty(provider.Names);
        Assert.Equal(0, _files.Loader.Loads);
    }

    [Fact]
    public async Task ATenThousandCharacterName_IsRejectedWithItsLengthAndTheMessageStaysShort()
    {
        await using ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        string name = new('a', 10_000);

        ArgumentException error = Assert.Throws<InvalidModelNameException>(() => provider.GetCache<FakeModel>(name));

        Assert.Contains("10,000 characters long, and at most 128 are allowed", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 400, $"The message should not repeat the whole name ({error.Message.Length} characters).");
        Assert.Empty(provider.Names);
    }

    [Fact]
    public async Task ANameWhoseFileDoesNotExist_FailsLikeAMissingModelAndIsNotKept()
    {
        await using ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        var cache = (ModelCache<FakeModel>)provider.GetCache<FakeModel>("tenant-missing");

        ModelLoadException error = Assert.Throws<TemplateModelNotFoundException>(() => cache.GetModel());

        Assert.Equal("tenant-missing", error.ModelName);
        Assert.Contains("tenant-missing.bin", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tenant-missing", provider.Names);

        // The failed cache disposes itself once its callers have their answer; a new use makes a new one.
        await Eventually.TrueAsync(() => cache.State == ModelCacheState.Unloaded, "the failed cache disposes itself");

        // A caller that looked it up just before it was dropped gets the same failure, not an ObjectDisposedException.
        ModelLoadException late = Assert.Throws<TemplateModelNotFoundException>(() => cache.GetModel());
        Assert.Contains("tenant-missing.bin", late.Message, StringComparison.Ordinal);
        Assert.Contains("the model was not kept", late.Message, StringComparison.Ordinal);
        Assert.NotSame(cache, provider.GetCache<FakeModel>("tenant-missing"));
    }

    [Fact]
    public async Task ANameThatFailedAndThenAppears_LoadsOnTheNextUse()
    {
        await using ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        Assert.Throws<TemplateModelNotFoundException>(() => provider.GetCache<FakeModel>("late").GetModel());

        _files.Write("late");

        Assert.StartsWith("late", provider.GetCache<FakeModel>("late").GetModel().Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownNameWithoutAMatchingTemplate_ListsModelsAndTemplates()
    {
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModel<FakeModel>("scorer", m => m.FromSource(new MutableSource("v1")).UseLoader(new FakeLoader()))
            .AddModelTemplate<FakeModel>("tenants", t => t.FromFile(_files.PathTemplate).UseLoader(_files.Loader), o => o.NamePrefix = "tenant-");
        await using ServiceProvider provider = services.BuildServiceProvider();

        KeyNotFoundException error = Assert.Throws<ModelNotFoundException>(() => provider.GetRequiredService<IModelCacheProvider>().GetCache("region-eu"));

        Assert.Contains("'scorer'", error.Message, StringComparison.Ordinal);
        Assert.Null(((ModelCache<FakeModel>)provider.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("scorer")).TemplateName);
        Assert.Contains("'tenants' (FakeModel, names starting with 'tenant-')", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLongestMatchingPrefix_ChoosesTheTemplate()
    {
        _files.Write("tenant-eu-1");
        _files.Write("tenant-1");
        using var other = new TempDirectory();
        File.WriteAllText(Path.Combine(other.Path, "tenant-eu-1.bin"), "eu-model");
        var euLoader = new FakeLoader();
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModelTemplate<FakeModel>("all", t => t.FromFile(_files.PathTemplate).UseLoader(_files.Loader))
            .AddModelTemplate<FakeModel>("eu", t => t.FromFile(Path.Combine(other.Path, "{name}.bin")).UseLoader(euLoader), o => o.NamePrefix = "tenant-eu-");
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCacheProvider models = provider.GetRequiredService<IModelCacheProvider>();

        Assert.Equal("eu-model", models.GetCache<FakeModel>("tenant-eu-1").GetModel().Content);
        Assert.StartsWith("tenant-1", models.GetCache<FakeModel>("tenant-1").GetModel().Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyedService_ResolvesATemplateName()
    {
        _files.Write("tenant-7");
        await using ServiceProvider services = _files.Services().BuildServiceProvider();

        IModelCache<FakeModel> cache = services.GetRequiredKeyedService<IModelCache<FakeModel>>("tenant-7");

        Assert.Same(services.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("tenant-7"), cache);
    }

    [Fact]
    public void APathWithoutTheNamePlaceholder_IsRejectedAtRegistration()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentException>(() => services.AddModelCache().AddModelTemplate<FakeModel>("tenants", t => t.FromFile("models/model.zip")));

        Assert.Contains("Template 'tenants'", error.Message, StringComparison.Ordinal);
        Assert.Contains("has no {name}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAddressWithoutTheNamePlaceholder_IsRejectedAtRegistration()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentException>(() => services.AddModelCache().AddModelTemplate<FakeModel>("tenants", t => t.FromHttp("https://models.example.com/model.zip")));

        Assert.Contains("has no {name}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EagerOnATemplate_SaysToPinInstead()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<InvalidOperationException>(() => services.AddModelCache().AddModelTemplate<FakeModel>("tenants", t => t.FromFile(_files.PathTemplate).Eager()));

        Assert.Contains("Pin()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATemplateNamedLikeAModel_FailsWhenTheProviderIsBuilt()
    {
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModel<FakeModel>("tenants", m => m.FromSource(new MutableSource("v1")).UseLoader(new FakeLoader()))
            .AddModelTemplate<FakeModel>("tenants", t => t.FromFile(_files.PathTemplate).UseLoader(_files.Loader));
        await using ServiceProvider provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IModelCacheProvider>());

        Assert.Contains("both a model (AddModel) and a template", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configuration_SetsTheTemplatesOptionsAndItsModelsOptions()
    {
        _files.Write("tenant-1");
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ModelCache:Templates:tenants:MemoryBudgetBytes"] = "5000",
            ["ModelCache:Templates:tenants:IdleTimeout"] = "00:05:00",
            ["ModelCache:Templates:tenants:Pinned"] = "true",
        }).Build();
        var services = new ServiceCollection();
        services.AddModelCache(configuration.GetSection("ModelCache"))
            .AddModelTemplate<FakeModel>("tenants", t => t.FromFile(_files.PathTemplate).UseLoader(_files.Loader));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCacheProvider models = provider.GetRequiredService<IModelCacheProvider>();

        var cache = (ModelCache<FakeModel>)models.GetCache<FakeModel>("tenant-1");

        Assert.Equal(TimeSpan.FromMinutes(5), cache.Options.IdleTimeout);
        Assert.True(cache.Options.Pinned);
        Assert.Equal(5000, provider.GetRequiredService<IOptionsMonitor<ModelTemplateOptions>>().Get("tenants").MemoryBudgetBytes);
        ModelMemoryBudgetStatus budget = Assert.Single(models.GetMemoryBudgets());
        Assert.Equal("tenants", budget.Scope);
        Assert.Equal(5000, budget.LimitBytes);
    }

    [Fact]
    public async Task FromFactoryWithTheName_BuildsEachModelFromItsName()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<FakeModel>("built", t => t.FromFactory((name, _) => ValueTask.FromResult(new FakeModel("built:" + name))));
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Equal("built:x1", provider.GetRequiredService<IModelCacheProvider>().GetCache<FakeModel>("x1").GetModel().Content);
    }

    [Fact]
    public async Task DisposingTheProvider_DisposesEveryModelMadeFromTheTemplate()
    {
        _files.Write("a");
        _files.Write("b");
        ServiceProvider services = _files.Services().BuildServiceProvider();
        IModelCacheProvider provider = services.GetRequiredService<IModelCacheProvider>();
        FakeModel a = provider.GetCache<FakeModel>("a").GetModel();
        FakeModel b = provider.GetCache<FakeModel>("b").GetModel();

        await services.DisposeAsync();

        Assert.Equal(1, a.DisposeCount);
        Assert.Equal(1, b.DisposeCount);
    }

    [Fact]
    public async Task AnAddressTemplate_GivesEachModelItsOwnAddress()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<FakeModel>("remote", t => t.FromHttp("https://models.example.com/tenants/{name}/model.zip").UseLoader(_files.Loader));
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCacheProvider models = provider.GetRequiredService<IModelCacheProvider>();

        Assert.Contains("https://models.example.com/tenants/tenant-1/model.zip", models.GetCache("tenant-1").SourceDescription, StringComparison.Ordinal);
        Assert.Contains("https://models.example.com/tenants/tenant-2/model.zip", models.GetCache("tenant-2").SourceDescription, StringComparison.Ordinal);
    }
}
