using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Templates;

/// <summary>
/// <c>WithPredictionPool</c> and <c>ValidateSchema</c> on a template (issue 11): every model made from the template gets
/// its schema check and a pool of its own, found by name through <see cref="PredictionPoolProvider{TData, TPrediction}"/>
/// and <c>[FromKeyedServices]</c>.
/// </summary>
public sealed class TemplatePredictionPoolTests : IDisposable
{
    private readonly TenantModelFolder _tenants = new TenantModelFolder()
        .Add(TestModels.IrisPath, "tenant-1", "tenant-2", "tenant-3")
        .Add(TestModels.TaxiFarePath, "taxi-1", "taxi-2", "tenant-taxi");

    public void Dispose() => _tenants.Dispose();

    private ServiceProvider Build(Action<ModelBuilder<ITransformer>>? more = null, string? prefix = "tenant-")
    {
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = PoolFactory.Context);
        services.AddModelCache()
            .AddModelTemplate<ITransformer>("tenants", t =>
            {
                t.FromFile(_tenants.PathTemplate).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>();
                more?.Invoke(t);
            }, o => o.NamePrefix = prefix)
            .AddModelTemplate<ITransformer>("taxis", t => t.FromFile(_tenants.PathTemplate).UseMLNet().WithPredictionPool<TaxiTrip, TaxiFarePrediction>(), o => o.NamePrefix = "taxi-");
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Predict_ForEachTenantOfATemplate_GivesTheReadmeOutputs()
    {
        await using ServiceProvider services = Build();
        var iris = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        var taxis = services.GetRequiredService<PredictionPoolProvider<TaxiTrip, TaxiFarePrediction>>();

        foreach (string tenant in new[] { "tenant-1", "tenant-2", "tenant-3" })
        {
            IrisPrediction setosa = iris.Predict(tenant, TestModels.Setosa);
            Assert.Equal(0f, setosa.PredictedLabel);
            TestModels.AssertScores(TestModels.SetosaScore, setosa.Score);
            var output = new IrisPrediction();
            iris.Predict(tenant, TestModels.Virginica, ref output);
            Assert.Equal(2f, output.PredictedLabel);
            TestModels.AssertScores(TestModels.VirginicaScore, output.Score);
        }

        Assert.Equal(TestModels.TripFare, taxis.Predict("taxi-1", TestModels.Trip).FareAmount, 0.001f);
        Assert.Equal(TestModels.TripFare, taxis.Predict("taxi-2", TestModels.Trip).FareAmount, 0.001f);
    }

    [Fact]
    public async Task GetPool_ForTwoTenants_GivesEachItsOwnPoolOverItsOwnCache_AndTheSameOneAgain()
    {
        await using ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        var caches = services.GetRequiredService<IModelCacheProvider>();

        PredictionPool<IrisData, IrisPrediction> one = provider.GetPool("tenant-1");
        PredictionPool<IrisData, IrisPrediction> two = provider.GetPool("tenant-2");

        Assert.NotSame(one, two);
        Assert.Same(one, provider.GetPool("tenant-1"));
        Assert.Equal("tenant-1", one.Cache.Name);
        Assert.Same(caches.GetCache<ITransformer>("tenant-1"), one.Cache);
        Assert.Same(caches.GetCache<ITransformer>("tenant-2"), two.Cache);
    }

    [Fact]
    public async Task KeyedPool_ForATemplateName_IsTheProvidersPool()
    {
        await using ServiceProvider services = Build();

        var keyed = services.GetRequiredKeyedService<PredictionPool<IrisData, IrisPrediction>>("tenant-2");

        Assert.Same(services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>().GetPool("tenant-2"), keyed);
        Assert.Equal(2f, keyed.Predict(TestModels.Virginica).PredictedLabel);
    }

    [Fact]
    public async Task GetPool_WithTheTemplatesOwnName_ThrowsKeyNotFound_NoPoolIsRegisteredUnderIt()
    {
        await using ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();

        KeyNotFoundException error = Assert.Throws<ModelNotFoundException>(() => provider.GetPool("tenants"));

        Assert.Contains("'tenants'", error.Message);
        Assert.Contains("names starting with 'tenant-'", error.Message);
        Assert.Null(services.GetService<IModelCacheProvider>()!.Names.FirstOrDefault(n => n == "tenants"));
    }

    [Fact]
    public async Task GetPool_WithAPathTraversalName_ThrowsArgumentException_BeforeAnyFileIsRead()
    {
        await using ServiceProvider services = Build(prefix: null);
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();

        ArgumentException error = Assert.Throws<InvalidModelNameException>(() => provider.Predict("../../etc/passwd", TestModels.Setosa));

        Assert.Contains("'../../etc/passwd' is not a valid model name for template 'tenants'", error.Message);
        Assert.Empty(services.GetRequiredService<IModelCacheProvider>().Names);
    }

    [Fact]
    public async Task GetPool_WithAnEmptyName_ThrowsArgumentException()
    {
        await using ServiceProvider services = Build(prefix: null);
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();

        ArgumentException error = Assert.Throws<InvalidModelNameException>(() => provider.GetPool(string.Empty));

        Assert.Contains("must not be empty", error.Message);
    }

    [Fact]
    public async Task GetPool_WithA10000CharacterName_ThrowsArgumentExceptionWithAShortMessage()
    {
        await using ServiceProvider services = Build(prefix: null);
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();

        ArgumentException error = Assert.Throws<InvalidModelNameException>(() => provider.GetPool(new string('a', 10_000)));

        Assert.Contains("10,000 characters long", error.Message);
        Assert.True(error.Message.Length < 500, error.Message);
    }

    [Fact]
    public async Task GetPool_WithANameNoTemplateServes_ThrowsKeyNotFoundNamingTheTemplates_AndMakesNoModel()
    {
        await using ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();

        KeyNotFoundException error = Assert.Throws<ModelNotFoundException>(() => provider.GetPool("customer-1"));

        Assert.Contains("'customer-1'", error.Message);
        Assert.Contains("'tenants' (names starting with 'tenant-')", error.Message);
        Assert.Empty(services.GetRequiredService<IModelCacheProvider>().Names);
    }

    [Fact]
    public async Task Predict_ForATenantWhoseFileDoesNotExist_ThrowsModelLoadExceptionNamingIt_AndKeepsNothing()
    {
        await using ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        var caches = services.GetRequiredService<IModelCacheProvider>();
        PredictionPool<IrisData, IrisPrediction> first = provider.GetPool("tenant-9");

        ModelLoadException error = Assert.Throws<TemplateModelNotFoundException>(() => provider.Predict("tenant-9", TestModels.Setosa));

        Assert.Contains("tenant-9", error.Message);
        await Eventually.TrueAsync(() => !caches.Names.Contains("tenant-9"), "the provider forgets a name whose first load failed");

        // The file appears: the name is served by a new cache and a new pool, not the pool of the forgotten cache.
        _tenants.Add(TestModels.IrisPath, "tenant-9");
        Assert.Equal(2f, provider.Predict("tenant-9", TestModels.Virginica).PredictedLabel);
        Assert.NotSame(first, provider.GetPool("tenant-9"));
        Assert.Same(caches.GetCache<ITransformer>("tenant-9"), provider.GetPool("tenant-9").Cache);
    }

    [Fact]
    public async Task Predict_WhenATenantsModelDoesNotFitTheTypes_ThrowsModelLoadExceptionWithTheSchemaErrorNamingTheTenant()
    {
        await using ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();

        // tenant-taxi is served by the iris template, but its file is the taxi-fare model.
        ModelLoadException error = Assert.Throws<ModelLoadException>(() => provider.Predict("tenant-taxi", TestModels.Setosa));

        ModelSchemaException schema = Assert.IsType<ModelSchemaException>(error.InnerException);
        Assert.Contains("'tenant-taxi'", schema.Message);
    }

    [Fact]
    public async Task ValidateSchema_OnATemplate_ChecksEachModelUnderItsOwnName()
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddModelTemplate<ITransformer>("tenants", t => t.FromFile(_tenants.PathTemplate).UseMLNet().ValidateSchema<IrisData, IrisPrediction>());
        await using ServiceProvider built = services.BuildServiceProvider();
        IModelCacheProvider caches = built.GetRequiredService<IModelCacheProvider>();

        Assert.NotNull(caches.GetCache<ITransformer>("tenant-1").GetModel());
        ModelLoadException error = Assert.Throws<ModelLoadException>(() => caches.GetCache<ITransformer>("taxi-1").GetModel());

        ModelSchemaException schema = Assert.IsType<ModelSchemaException>(error.InnerException);
        Assert.Contains("'taxi-1'", schema.Message);
        Assert.DoesNotContain("'tenants'", schema.Message);
    }

    [Fact]
    public async Task GetPool_ForAModelOfATemplateWithoutAPoolForTheTypes_ThrowsKeyNotFound()
    {
        await using ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<TaxiTrip, TaxiFarePrediction>>();

        KeyNotFoundException error = Assert.Throws<ModelNotFoundException>(() => provider.GetPool("tenant-1"));

        Assert.Contains("'tenant-1'", error.Message);
        Assert.Contains("'taxis' (names starting with 'taxi-')", error.Message);
    }

    [Fact]
    public async Task Dispose_OfTheProvider_DisposesTheTemplatePools()
    {
        ServiceProvider services = Build();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        PredictionPool<IrisData, IrisPrediction> pool = provider.GetPool("tenant-1");
        Assert.Equal(0f, pool.Predict(TestModels.Setosa).PredictedLabel);

        await services.DisposeAsync();

        Assert.Equal(pool.GetStatistics().EnginesCreated, pool.GetStatistics().EnginesDisposed);
        Assert.Throws<ObjectDisposedException>(() => provider.GetPool("tenant-2"));
    }
}
