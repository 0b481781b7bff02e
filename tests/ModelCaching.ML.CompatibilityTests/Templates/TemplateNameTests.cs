using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.CompatibilityTests.Samples;
using ModelCaching.ML.CompatibilityTests.Support;

namespace ModelCaching.ML.CompatibilityTests.Templates;

/// <summary>
/// An app written for Microsoft.Extensions.ML (<c>AddPredictionEnginePool</c>) plus a model template
/// (<c>AddModelTemplate&lt;ITransformer&gt;("tenants", t =&gt; t.FromFile("models/{name}.zip").UseMLNet())</c>): the
/// pool's API works for template names as for the pool's own models (issue 11).
/// </summary>
public sealed class TemplateNameTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "modelcaching-compat-tenants-" + Guid.NewGuid().ToString("N"));

    public TemplateNameTests()
    {
        Directory.CreateDirectory(_folder);
        AddTenant(TestModels.IrisPath, "tenant-1", "tenant-2", "tenant-42");
        AddTenant(TestModels.TaxiFarePath, "tenant-taxi");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void AddTenant(string model, params string[] names)
    {
        foreach (string name in names)
        {
            File.Copy(model, Path.Combine(_folder, name + ".zip"), overwrite: true);
        }
    }

    private ServiceProvider Build(string prefix = "tenant-", Action<ModelBuilder<ITransformer>> more = null, Action<ModelTemplateOptions> template = null, Action<PredictionEnginePoolBuilder<IrisData, IrisPrediction>> pool = null)
    {
        var services = new ServiceCollection();
        PredictionEnginePoolBuilder<IrisData, IrisPrediction> builder = services.AddPredictionEnginePool<IrisData, IrisPrediction>();
        pool?.Invoke(builder);
        services.AddModelCache().AddModelTemplate<ITransformer>(
            "tenants",
            t =>
            {
                t.FromFile(Path.Combine(_folder, "{name}.zip")).UseMLNet();
                more?.Invoke(t);
            },
            o =>
            {
                o.NamePrefix = prefix;
                template?.Invoke(o);
            });
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Predict_WithTemplateNames_GivesTheReadmeOutputsPerTenant()
    {
        await using ServiceProvider services = Build();
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        IrisPrediction setosa = pool.Predict("tenant-42", TestModels.Setosa);
        IrisPrediction virginica = pool.Predict("tenant-1", TestModels.Virginica);

        Assert.Equal(0f, setosa.PredictedLabel);
        Assert.Equal(3.9521f, setosa.Score[0], 0.001f);
        Assert.Equal(2f, virginica.PredictedLabel);
        Assert.Equal(-17.7021f, virginica.Score[2], 0.001f);
        Assert.Equal(["tenant-1", "tenant-42"], services.GetRequiredService<IModelCacheProvider>().Names);
    }

    [Fact]
    public async Task Predict_WithATemplateNameAndAFromFileModel_ServesBothFromOnePool()
    {
        await using ServiceProvider services = Build(pool: b => b.FromFile("IrisModel", TestModels.IrisPath));
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        Assert.Equal(2f, pool.Predict("IrisModel", TestModels.Virginica).PredictedLabel);
        Assert.Equal(2f, pool.Predict("tenant-2", TestModels.Virginica).PredictedLabel);
        Assert.Equal(0f, pool.Predict("IrisModel", TestModels.Setosa).PredictedLabel);
        Assert.Equal(0f, pool.Predict("tenant-2", TestModels.Setosa).PredictedLabel);
    }

    [Fact]
    public async Task GetPredictionEngine_WithATemplateName_RentsAnEngineThatReturnsToItsModel()
    {
        await using ServiceProvider services = Build();
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        PredictionEngine<IrisData, IrisPrediction> engine = pool.GetPredictionEngine("tenant-42");
        Assert.Equal(2f, engine.Predict(TestModels.Virginica).PredictedLabel);
        pool.ReturnPredictionEngine("tenant-42", engine);

        InvalidOperationException twice = Assert.Throws<InvalidOperationException>(() => pool.ReturnPredictionEngine("tenant-42", engine));
        Assert.Contains("already returned", twice.Message);
        ArgumentException elsewhere = Assert.Throws<ArgumentException>(() => pool.ReturnPredictionEngine("tenant-1", engine));
        Assert.Contains("'tenant-1'", elsewhere.Message);
    }

    [Fact]
    public async Task GetModel_WithATemplateName_IsTheModelOfTheProvidersCache()
    {
        await using ServiceProvider services = Build();
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        ITransformer model = pool.GetModel("tenant-2");

        Assert.Same(services.GetRequiredService<IModelCacheProvider>().GetCache<ITransformer>("tenant-2").GetModel(), model);
    }

    [Fact]
    public async Task Predict_WithATemplateNameWhoseFileDoesNotExist_ThrowsModelLoadExceptionNamingIt_AndKeepsNothing()
    {
        await using ServiceProvider services = Build();
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        var caches = services.GetRequiredService<IModelCacheProvider>();

        ModelLoadException error = Assert.Throws<TemplateModelNotFoundException>(() => pool.Predict("tenant-7", TestModels.Setosa));

        Assert.Contains("tenant-7", error.Message);
        await Eventually.TrueAsync(() => !caches.Names.Contains("tenant-7"), "the provider forgets the name");

        // Not kept by the pool either: once the file exists, the name loads (a pool kept for the forgotten cache would throw ObjectDisposedException).
        AddTenant(TestModels.IrisPath, "tenant-7");
        Assert.Equal(2f, pool.Predict("tenant-7", TestModels.Virginica).PredictedLabel);
    }

    [Fact]
    public async Task Predict_WithAPathTraversalName_ThrowsArgumentException()
    {
        await using ServiceProvider services = Build(prefix: null);
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        ArgumentException error = Assert.Throws<InvalidModelNameException>(() => pool.Predict("../../etc/passwd", TestModels.Setosa));

        Assert.Contains("'../../etc/passwd' is not a valid model name for template 'tenants'", error.Message);
        Assert.Empty(services.GetRequiredService<IModelCacheProvider>().Names);
    }

    [Fact]
    public async Task Predict_WithA10000CharacterName_ThrowsArgumentException()
    {
        await using ServiceProvider services = Build(prefix: null);
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        ArgumentException error = Assert.Throws<InvalidModelNameException>(() => pool.GetPredictionEngine(new string('x', 10_000)));

        Assert.Contains("10,000 characters long", error.Message);
    }

    [Fact]
    public async Task Predict_WithANameNoTemplateServes_ThrowsKeyNotFoundExceptionNamingTemplatesAsAnOption()
    {
        await using ServiceProvider services = Build();
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        KeyNotFoundException error = Assert.Throws<KeyNotFoundException>(() => pool.Predict("customer-1", TestModels.Setosa));

        Assert.Contains("'customer-1'", error.Message);
        Assert.Contains("AddModelTemplate", error.Message);
        Assert.Contains("'tenants'", error.Message);
    }

    [Fact]
    public async Task DefaultModel_WithATemplateForEveryNameButNoDefault_ThrowsArgumentExceptionAsMicrosoftExtensionsML()
    {
        await using ServiceProvider services = Build(prefix: null);
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        ArgumentException error = Assert.Throws<ArgumentException>(() => pool.Predict(TestModels.Setosa));

        Assert.Contains("No default (unnamed) model", error.Message);
        Assert.Empty(services.GetRequiredService<IModelCacheProvider>().Names);
    }

    [Fact]
    public async Task Predict_WhenTheTemplateValidatesTheSchema_RejectsATenantModelThatDoesNotFitNamingIt()
    {
        await using ServiceProvider services = Build(more: t => t.ValidateSchema<IrisData, IrisPrediction>());
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        ModelLoadException error = Assert.Throws<ModelLoadException>(() => pool.Predict("tenant-taxi", TestModels.Setosa));

        ModelSchemaException schema = Assert.IsType<ModelSchemaException>(error.InnerException);
        Assert.Contains("'tenant-taxi'", schema.Message);
        Assert.Equal(0f, pool.Predict("tenant-1", TestModels.Setosa).PredictedLabel);
    }

    [Fact]
    public async Task Predict_WhenTheTemplateHasNoSchemaCheck_FailsAtTheFirstPredictionWithMLNetsError()
    {
        await using ServiceProvider services = Build();
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        Exception error = Record.Exception(() => pool.Predict("tenant-taxi", TestModels.Setosa));

        // The model loaded (nothing checked it), so the engine fails: ML.NET names the column the model lacks.
        ArgumentOutOfRangeException mismatch = Assert.IsType<ArgumentOutOfRangeException>(error);
        Assert.Contains("Could not find input column", mismatch.Message);
        Assert.Equal(ModelCacheState.Ready, services.GetRequiredService<IModelCacheProvider>().GetCache("tenant-taxi").State);
    }

    [Fact]
    public async Task GetPredictionEngine_NotReturned_KeepsAnEvictedTenantDrainingUntilItIsReturned()
    {
        long irisBytes = new FileInfo(TestModels.IrisPath).Length;
        await using ServiceProvider services = Build(
            more: t => t.Configure(o =>
            {
                o.DrainDelay = TimeSpan.Zero;
                o.TrackHits = false; // first loads only: the newcomer is admitted in place of the cheapest model
            }),
            template: o => o.MemoryBudgetBytes = (2 * irisBytes) + (irisBytes / 2));
        var pool = services.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        var caches = services.GetRequiredService<IModelCacheProvider>();
        PredictionEngine<IrisData, IrisPrediction> one = pool.GetPredictionEngine("tenant-1");
        PredictionEngine<IrisData, IrisPrediction> two = pool.GetPredictionEngine("tenant-2");

        Task<IrisPrediction> third = Task.Run(() => pool.Predict("tenant-42", TestModels.Virginica));
        await Eventually.TrueAsync(() => Budget(caches) is { Evictions: >= 1, DrainingBytes: > 0 }, "an evicted tenant still draining");

        string[] evicted = [.. new[] { "tenant-1", "tenant-2" }.Where(t => caches.GetCache(t).State == ModelCacheState.Evicted)];
        Assert.NotEmpty(evicted);
        Assert.Equal(evicted.Length * irisBytes, Budget(caches).DrainingBytes);
        Assert.Equal(2f, one.Predict(TestModels.Virginica).PredictedLabel);
        Assert.Equal(2f, two.Predict(TestModels.Virginica).PredictedLabel);

        pool.ReturnPredictionEngine("tenant-1", one);
        pool.ReturnPredictionEngine("tenant-2", two);

        Assert.Equal(2f, (await third.WaitAsync(Eventually.Timeout)).PredictedLabel);
        await Eventually.TrueAsync(() => Budget(caches).DrainingBytes == 0, "the evicted tenants' memory released once their engines came back");
        ModelMemoryBudgetStatus after = Budget(caches);
        Assert.True(after.UsedBytes <= after.LimitBytes, $"{after.UsedBytes:N0} bytes used, limit {after.LimitBytes:N0}");
    }

    private static ModelMemoryBudgetStatus Budget(IModelCacheProvider caches) => Assert.Single(caches.GetMemoryBudgets(), b => b.Scope == "tenants");
}
