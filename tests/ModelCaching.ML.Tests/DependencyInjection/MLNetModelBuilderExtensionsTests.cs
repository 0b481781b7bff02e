using ModelCaching.ML.Compatibility;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.DependencyInjection;

public sealed class MLNetModelBuilderExtensionsTests
{
    [Fact]
    public async Task WithPredictionPool_TaxiFareAsTheSampleApiRegistersIt_PredictsTheReadmeFare()
    {
        await using ServiceProvider services = new ServiceCollection()
            .AddModelCache()
            .AddModel<ITransformer>("taxi-fare", m => m.FromFile(TestModels.TaxiFarePath, true).UseMLNet().WithPredictionPool<TaxiTrip, TaxiFarePrediction>())
            .Services.BuildServiceProvider();

        var pool = services.GetRequiredKeyedService<PredictionPool<TaxiTrip, TaxiFarePrediction>>("taxi-fare");

        Assert.Equal(TestModels.TripFare, pool.Predict(TestModels.Trip).FareAmount, 0.001f);
        Assert.Equal("taxi-fare", pool.Cache.Name);
        Assert.Same(services.GetRequiredKeyedService<IModelCache<ITransformer>>("taxi-fare"), pool.Cache);
    }

    [Fact]
    public async Task KeyedPool_WithAMistypedName_ThrowsKeyNotFoundExceptionListingThePools()
    {
        await using ServiceProvider services = new ServiceCollection()
            .AddModelCache()
            .AddModel<ITransformer>("taxi-fare", m => m.FromFile(TestModels.TaxiFarePath).UseMLNet().WithPredictionPool<TaxiTrip, TaxiFarePrediction>())
            .Services.BuildServiceProvider();

        KeyNotFoundException error = Assert.Throws<ModelNotFoundException>(() => services.GetRequiredKeyedService<PredictionPool<TaxiTrip, TaxiFarePrediction>>("taxi"));

        Assert.Contains("'taxi'", error.Message);
        Assert.Contains("'taxi-fare'", error.Message);
        Assert.NotNull(services.GetRequiredKeyedService<PredictionPool<TaxiTrip, TaxiFarePrediction>>("taxi-fare"));
    }

    [Fact]
    public async Task PredictionPoolProvider_PredictsByModelName()
    {
        await using ServiceProvider services = new ServiceCollection()
            .AddModelCache()
            .AddModel<ITransformer>("iris-a", m => m.FromFile(TestModels.IrisPath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>())
            .AddModel<ITransformer>("iris-b", m => m.FromFile(TestModels.IrisPath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>())
            .Services.BuildServiceProvider();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();
        var output = new IrisPrediction();

        provider.Predict("iris-b", TestModels.Setosa, ref output);

        Assert.Equal(2f, provider.Predict("iris-a", TestModels.Virginica).PredictedLabel);
        Assert.Equal(0f, output.PredictedLabel);
        Assert.Equal(["iris-a", "iris-b"], provider.Names);
        Assert.Same(services.GetRequiredKeyedService<PredictionPool<IrisData, IrisPrediction>>("iris-b"), provider.GetPool("iris-b"));
    }

    [Fact]
    public async Task PredictionPoolProvider_WhenTheNameIsMistyped_ThrowsKeyNotFoundListingTheKnownNames()
    {
        await using ServiceProvider services = new ServiceCollection()
            .AddModelCache()
            .AddModel<ITransformer>("iris", m => m.FromFile(TestModels.IrisPath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>())
            .Services.BuildServiceProvider();
        var provider = services.GetRequiredService<PredictionPoolProvider<IrisData, IrisPrediction>>();

        KeyNotFoundException error = Assert.Throws<ModelNotFoundException>(() => provider.Predict("irsi", TestModels.Setosa));

        Assert.Contains("'irsi'", error.Message);
        Assert.Contains("'iris'", error.Message);
    }

    [Fact]
    public async Task UseMLNet_LoadsWithTheConfiguredMLContext()
    {
        var context = new MLContext(seed: 42);
        await using ServiceProvider services = new ServiceCollection()
            .Configure<MLOptions>(o => o.MLContext = context)
            .AddModelCache()
            .AddModel<ITransformer>("iris", m => m.FromFile(TestModels.IrisPath).UseMLNet())
            .Services.BuildServiceProvider();

        ITransformer model = services.GetRequiredKeyedService<IModelCache<ITransformer>>("iris").GetModel();

        Assert.Same(context, services.GetRequiredService<IOptions<MLOptions>>().Value.MLContext);
        Assert.NotNull(model.GetOutputSchema(context.Data.LoadFromEnumerable(Array.Empty<IrisData>()).Schema).GetColumnOrNull("PredictedLabel"));
    }

    [Fact]
    public void MLOptions_SeedAfterTheContextExists_Throws()
    {
        var options = new MLOptions { Seed = 7 };
        _ = options.MLContext;

        Assert.Throws<InvalidOperationException>(() => options.Seed = 8);
    }

    [Fact]
    public async Task WatchedFile_WhenReplacedByAnotherModel_PoolServesTheNewModel()
    {
        using TempModelFolder folder = TestModels.CopyToTemp(TestModels.IrisPath);
        await using ServiceProvider services = new ServiceCollection()
            .AddModelCache()
            .AddModel<ITransformer>("swap", m => m.FromFile(folder.FilePath, true).UseMLNet().WithPredictionPool<IrisOrTaxiInput, FeaturesPrediction>())
            .Services.BuildServiceProvider();
        var pool = services.GetRequiredKeyedService<PredictionPool<IrisOrTaxiInput, FeaturesPrediction>>("swap");
        Assert.Equal(4, pool.Predict(IrisOrTaxiInput.Sample).Features.Length);
        var reloaded = new TaskCompletionSource<ModelReloadedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        pool.Cache.Reloaded += (_, e) => reloaded.TrySetResult(e);

        folder.Replace(TestModels.TaxiFarePath);
        ModelReloadedEventArgs e = await reloaded.Task.WaitAsync(Eventually.Timeout);

        Assert.Equal(ModelLoadReason.SourceChanged, e.Reason);
        Assert.NotEqual(4, pool.Predict(IrisOrTaxiInput.Sample).Features.Length);
        Assert.Equal(2, pool.GetStatistics().Generations);
    }
}
