using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Schema;

public sealed class PredictionSchemaTests
{
    private readonly MLContext _context = new(seed: 1);

    private ITransformer Load(string path) => _context.Model.Load(path, out _);

    [Fact]
    public void Check_WhenTypesFit_DoesNotThrow()
    {
        PredictionSchema.Check<IrisData, IrisPrediction>(_context, Load(TestModels.IrisPath), "iris");
        PredictionSchema.Check<TaxiTrip, TaxiFarePrediction>(_context, Load(TestModels.TaxiFarePath), "taxi-fare");
    }

    [Fact]
    public void Check_WhenPredictedLabelIsBoundAsUInt_ThrowsNamingTheColumnAndBothTypes()
    {
        var error = Assert.Throws<ModelSchemaException>(() =>
            PredictionSchema.Check<IrisData, IrisPredictionAsUInt>(_context, Load(TestModels.IrisPath), "iris"));

        Assert.Equal("PredictedLabel", error.ColumnName);
        Assert.Equal("Single", error.ModelColumnType);
        Assert.Equal("System.UInt32", error.ClrType);
        Assert.Contains("'iris'", error.Message);
        Assert.Contains("PredictedLabel", error.Message);
        Assert.Contains("Single", error.Message);
        Assert.Contains("UInt32", error.Message);
    }

    [Fact]
    public void Check_WhenTheModelLacksAnInputColumn_ThrowsNamingTheColumn()
    {
        // taxi-fare.zip reads VendorId, which IrisData does not have.
        var error = Assert.Throws<ModelSchemaException>(() =>
            PredictionSchema.Check<IrisData, TaxiFarePrediction>(_context, Load(TestModels.TaxiFarePath), "taxi-fare"));

        Assert.Contains("'taxi-fare'", error.Message);
        Assert.Contains("IrisData", error.Message);
        Assert.NotNull(error.ColumnName);
    }

    [Fact]
    public void Check_WhenTheOutputLacksAColumn_ThrowsListingTheModelsColumns()
    {
        // taxi-fare.zip has no PredictedLabel.
        var error = Assert.Throws<ModelSchemaException>(() =>
            PredictionSchema.Check<IrisOrTaxiInput, PredictedLabelOnly>(_context, Load(TestModels.TaxiFarePath), "taxi-fare"));

        Assert.Equal("PredictedLabel", error.ColumnName);
        Assert.Contains("no column 'PredictedLabel'", error.Message);
        Assert.Contains("Score:", error.Message);
    }

    [Fact]
    public async Task FirstLoad_WithPredictedLabelBoundAsUInt_FailsWithModelLoadExceptionAndCrashesNoRequest()
    {
        await using ServiceProvider services = new ServiceCollection()
            .AddModelCache()
            .AddModel<ITransformer>("iris", m => m.FromFile(TestModels.IrisPath).UseMLNet().WithPredictionPool<IrisData, IrisPredictionAsUInt>())
            .Services.BuildServiceProvider();
        var pool = services.GetRequiredKeyedService<PredictionPool<IrisData, IrisPredictionAsUInt>>("iris");

        var error = Assert.Throws<ModelLoadException>(() => pool.Predict(TestModels.Setosa));

        Assert.Equal("iris", error.ModelName);
        var schema = Assert.IsType<ModelSchemaException>(error.InnerException);
        Assert.Equal("PredictedLabel", schema.ColumnName);
        Assert.Equal(ModelCacheState.Failed, pool.Cache.State);
        Assert.Equal(0, pool.GetStatistics().EnginesCreated);
    }

    [Fact]
    public async Task Reload_WhenTheNewModelDoesNotFit_IsRejectedAndTheLastGoodModelKeepsServing()
    {
        using TempModelFolder folder = TestModels.CopyToTemp(TestModels.IrisPath);
        await using ServiceProvider services = new ServiceCollection()
            .AddModelCache()
            .AddModel<ITransformer>("iris", m => m.FromFile(folder.FilePath).UseMLNet().WithPredictionPool<IrisData, IrisPrediction>())
            .Services.BuildServiceProvider();
        var pool = services.GetRequiredKeyedService<PredictionPool<IrisData, IrisPrediction>>("iris");
        Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
        ModelVersion good = pool.Cache.Version!;

        folder.Replace(TestModels.TaxiFarePath);
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => pool.Cache.ReloadAsync());

        Assert.IsType<ModelSchemaException>(error.InnerException);
        Assert.Equal(ModelCacheState.Degraded, pool.Cache.State);
        Assert.Equal(good, pool.Cache.Version);
        Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
    }

    public sealed class PredictedLabelOnly
    {
        public float PredictedLabel;
    }
}
