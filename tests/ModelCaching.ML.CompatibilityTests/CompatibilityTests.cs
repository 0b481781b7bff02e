using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using Microsoft.ML.Data;
using ModelCaching.ML.Compatibility;
using ModelCaching.ML.CompatibilityTests.Samples;
using ModelCaching.ML.CompatibilityTests.Support;

namespace ModelCaching.ML.CompatibilityTests;

/// <summary>Code written for Microsoft.Extensions.ML, run on ModelCaching.</summary>
public sealed class CompatibilityTests
{
    [Fact]
    public async Task DocsSample_ControllerWithNamedFileModel_PredictsTheSpecies()
    {
        var services = new ServiceCollection();
        Startup.ConfigureServices(services, TestModels.IrisPath);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var controller = new PredictController(provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>());

        ActionResult<string> setosa = controller.Post(TestModels.Setosa);
        ActionResult<string> virginica = controller.Post(TestModels.Virginica);

        Assert.Equal("setosa", Assert.IsType<OkObjectResult>(setosa.Result).Value);
        Assert.Equal("virginica", Assert.IsType<OkObjectResult>(virginica.Result).Value);
    }

    [Fact]
    public async Task DocsSample_FromUri_DownloadsAndPredicts()
    {
        using var server = new LocalModelServer(File.ReadAllBytes(TestModels.IrisPath));
        var services = new ServiceCollection();
        Startup.ConfigureServicesFromUri(services, server.BaseAddress + "iris.zip");
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        IrisPrediction prediction = pool.Predict("IrisModel", TestModels.Virginica);

        Assert.Equal(2f, prediction.PredictedLabel);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task DefaultModel_FromFile_PredictsWithTheOneArgumentExtension()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(TestModels.IrisPath);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        IrisPrediction prediction = pool.Predict(TestModels.Setosa);

        Assert.Equal(0f, prediction.PredictedLabel);
        Assert.Equal(3.9521f, prediction.Score[0], 0.001f);
        Assert.Same(pool.GetModel(), pool.GetModel(string.Empty));
    }

    [Fact]
    public async Task GetAndReturnPredictionEngine_RoundTripsAnEngineOfTheModel()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile("iris", TestModels.IrisPath, watchForChanges: false);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        PredictionEngine<IrisData, IrisPrediction> engine = pool.GetPredictionEngine("iris");
        float label = engine.Predict(TestModels.Virginica).PredictedLabel;
        pool.ReturnPredictionEngine("iris", engine);
        PredictionEngine<IrisData, IrisPrediction> again = pool.GetPredictionEngine("iris");
        float againLabel = again.Predict(TestModels.Setosa).PredictedLabel;
        pool.ReturnPredictionEngine("iris", again);

        Assert.Equal(2f, label);
        Assert.Equal(0f, againLabel);
        Assert.NotNull(pool.GetModel("iris"));
    }

    [Fact]
    public async Task ReturnPredictionEngine_Twice_Throws_AndNeverHandsOneEngineToTwoCallers()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(TestModels.IrisPath, watchForChanges: false);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        PredictionEngine<IrisData, IrisPrediction> engine = pool.GetPredictionEngine();
        pool.ReturnPredictionEngine(engine);

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => pool.ReturnPredictionEngine(engine));

        Assert.Contains("already returned", error.Message);
        PredictionEngine<IrisData, IrisPrediction> first = pool.GetPredictionEngine();
        PredictionEngine<IrisData, IrisPrediction> second = pool.GetPredictionEngine();
        Assert.NotSame(first, second);
        pool.ReturnPredictionEngine(first);
        pool.ReturnPredictionEngine(second);
    }

    [Fact]
    public async Task ReturnPredictionEngine_AfterThePoolIsDisposed_DisposesTheEngineQuietly()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(TestModels.IrisPath, watchForChanges: false);
        ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        PredictionEngine<IrisData, IrisPrediction> engine = pool.GetPredictionEngine();

        await provider.DisposeAsync();
        pool.ReturnPredictionEngine(engine);

        Assert.Throws<ObjectDisposedException>(() => pool.GetPredictionEngine());
    }

    [Fact]
    public async Task ReturnPredictionEngine_OfAnEngineFromElsewhere_ThrowsArgumentException()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(TestModels.IrisPath, watchForChanges: false);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        var context = new MLContext();
        using PredictionEngine<IrisData, IrisPrediction> foreign = context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(pool.GetModel());

        Assert.Throws<ArgumentException>(() => pool.ReturnPredictionEngine(foreign));
        Assert.Throws<ArgumentNullException>(() => pool.ReturnPredictionEngine(null));
    }

    [Fact]
    public async Task MistypedModelName_ThrowsKeyNotFoundListingTheConfiguredNames()
    {
        // Microsoft.Extensions.ML throws ArgumentNullException('poolOptions') here.
        var services = new ServiceCollection();
        Startup.ConfigureServices(services, TestModels.IrisPath);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        var named = Assert.Throws<KeyNotFoundException>(() => pool.Predict("IrsiModel", TestModels.Setosa));
        var unnamed = Assert.Throws<ArgumentException>(() => pool.Predict(TestModels.Setosa)); // as Microsoft.Extensions.ML: no default model

        Assert.Contains("'IrsiModel'", named.Message);
        Assert.Contains("'IrisModel'", named.Message);
        Assert.Contains("default", unnamed.Message);
    }

    [Fact]
    public async Task CustomModelLoader_WhenItsTokenFires_ThePoolServesTheNewModel()
    {
        var context = new MLContext(seed: 1);
        var loader = new InMemoryModelLoader(context, File.ReadAllBytes(TestModels.IrisPath));
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>();
        services.AddOptions<PredictionEnginePoolOptions<IrisData, IrisPrediction>>("memory").Configure(o => o.ModelLoader = loader);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        ITransformer first = pool.GetModel("memory");
        Assert.Equal(2f, pool.Predict("memory", TestModels.Virginica).PredictedLabel);

        loader.Update(File.ReadAllBytes(TestModels.IrisPath));
        await Eventually.TrueAsync(() => !ReferenceEquals(first, pool.GetModel("memory")), "the pool to serve the updated model");

        Assert.Same(loader.GetModel(), pool.GetModel("memory"));
        Assert.Equal(0f, pool.Predict("memory", TestModels.Setosa).PredictedLabel);
    }

    [Fact]
    public async Task CustomModelLoader_WhenTheNewModelDoesNotFitTheTypes_KeepsServingTheLastGoodModel()
    {
        var context = new MLContext(seed: 1);
        var loader = new InMemoryModelLoader(context, File.ReadAllBytes(TestModels.IrisPath));
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>();
        services.Configure<PredictionEnginePoolOptions<IrisData, IrisPrediction>>("memory", o => o.ModelLoader = loader);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        ITransformer good = pool.GetModel("memory");
        int callsBefore = Volatile.Read(ref loader.GetModelCalls);

        // A model saved without its input schema and without the iris columns: an ML.NET "identity" chain
        // whose output has no PredictedLabel. It loads fine but must not serve IrisPrediction.
        using var empty = new MemoryStream();
        context.Model.Save(new TransformerChain<ITransformer>(), context.Data.LoadFromEnumerable(Array.Empty<IrisData>()).Schema, empty);
        loader.Update(empty.ToArray());
        await Eventually.TrueAsync(() => Volatile.Read(ref loader.GetModelCalls) > callsBefore, "the reload to ask the loader for the new model");

        Assert.Same(good, pool.GetModel("memory"));
        Assert.Equal(2f, pool.Predict("memory", TestModels.Virginica).PredictedLabel);
    }

    [Fact]
    public async Task FromFile_WhenTheFileIsReplacedByRename_ReloadsTheModel()
    {
        // Microsoft.Extensions.ML watches Changed events only: a rename (how deployments write files) is missed.
        using var model = new TempModel(TestModels.IrisPath);
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile("iris", model.FilePath, watchForChanges: true);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        ITransformer first = pool.GetModel("iris");

        // Same model, saved again: other bytes, same predictions.
        string staging = Path.Combine(model.Folder, "model.zip.new");
        var context = new MLContext();
        context.Model.Save(context.Model.Load(TestModels.IrisPath, out DataViewSchema schema), schema, staging);
        File.Move(staging, model.FilePath, overwrite: true);
        await Eventually.TrueAsync(() => !ReferenceEquals(first, pool.GetModel("iris")), "the renamed file to be loaded");

        Assert.Equal(2f, pool.Predict("iris", TestModels.Virginica).PredictedLabel);
    }

    [Fact]
    public async Task TaxiFare_PredictsTheReadmeFare()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<TaxiTrip, TaxiTripFarePrediction>().FromFile("taxi", TestModels.TaxiFarePath, watchForChanges: false);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<TaxiTrip, TaxiTripFarePrediction>>();

        TaxiTripFarePrediction prediction = pool.Predict("taxi", new TaxiTrip { VendorId = "VTS", RateCode = "1", PassengerCount = 1, TripTime = 1140, TripDistance = 3.75f, PaymentType = "CRD" });

        Assert.Equal(15.5708f, prediction.FareAmount, 0.001f);
    }

    [Fact]
    public async Task FastTreeModelWithoutThePackageReferenced_FailsNamingTheMissingPackage()
    {
        // This project does not reference Microsoft.ML.FastTree.
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<XyData, ScorePrediction>().FromFile("fasttree", TestModels.FastTreePath, watchForChanges: false);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<XyData, ScorePrediction>>();

        var error = Assert.Throws<ModelLoadException>(() => pool.Predict("fasttree", new XyData { X = 10, Y = 5 }));

        var missing = Assert.IsType<MissingModelComponentException>(error.InnerException);
        Assert.Equal("Microsoft.ML.FastTree", missing.Package);
        Assert.Equal("FastTreeRegressionExec", missing.LoaderSignature);
        Assert.Contains("Microsoft.ML.FastTree", error.Message);
        Assert.Contains("fasttree", error.Message);
    }

    [Fact]
    public async Task AddPredictionEnginePool_WithAFactory_UsesThePoolItMakes()
    {
        int made = 0;
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>(sp =>
        {
            made++;
            return new PredictionEnginePool<IrisData, IrisPrediction>(
                sp,
                sp.GetRequiredService<IOptions<MLOptions>>(),
                sp.GetRequiredService<IOptionsFactory<PredictionEnginePoolOptions<IrisData, IrisPrediction>>>());
        }).FromFile(TestModels.IrisPath);
        await using ServiceProvider provider = services.BuildServiceProvider();

        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
        Assert.Equal(1, made);
    }

    [Fact]
    public async Task MLOptions_ConfiguredContext_IsTheOneThePoolUses()
    {
        var context = new MLContext(seed: 7);
        var services = new ServiceCollection();
        services.Configure<MLOptions>(o => o.MLContext = context);
        services.AddRequiredPredictionEnginePoolServices();
        services.AddSingleton<PredictionEnginePool<IrisData, IrisPrediction>>();
        new PredictionEnginePoolBuilder<IrisData, IrisPrediction>(services).FromFile(TestModels.IrisPath);
        await using ServiceProvider provider = services.BuildServiceProvider();

        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();

        Assert.Same(context, provider.GetRequiredService<IOptions<MLOptions>>().Value.MLContext);
        Assert.Equal(0f, pool.Predict(TestModels.Setosa).PredictedLabel);
    }

    [Fact]
    public async Task Dispose_ThenUse_ThrowsObjectDisposed()
    {
        var services = new ServiceCollection();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>().FromFile(TestModels.IrisPath);
        ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        pool.Predict(TestModels.Setosa);

        await provider.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => pool.Predict("another", TestModels.Setosa));
    }

    [Fact]
    public async Task ConcurrentPredictions_FromManyThreads_AllSucceed()
    {
        var services = new ServiceCollection();
        Startup.ConfigureServices(services, TestModels.IrisPath);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<PredictionEnginePool<IrisData, IrisPrediction>>();
        int failures = 0;

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
        {
            for (int n = 0; n < 500; n++)
            {
                bool setosa = (i + n) % 2 == 0;
                IrisPrediction p = setosa
                    ? pool.Predict("IrisModel", TestModels.Setosa)
                    : pool.Predict("IrisModel", TestModels.Virginica);
                if (p.PredictedLabel != (setosa ? 0f : 2f))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }))).WaitAsync(Eventually.Timeout);

        Assert.Equal(0, failures);
    }

    public sealed class XyData
    {
        public float X;
        public float Y;
    }

    public sealed class ScorePrediction
    {
        public float Score;
    }
}
