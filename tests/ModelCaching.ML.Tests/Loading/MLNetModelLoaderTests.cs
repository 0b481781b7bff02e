using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Loading;

public sealed class MLNetModelLoaderTests
{
    private readonly MLContext _context = new(seed: 1);

    private ValueTask<ITransformer> LoadAsync(byte[] content, string location = "test.zip") =>
        new MLNetModelLoader(_context).LoadAsync(new ModelArtifact(content, location), CancellationToken.None);

    [Fact]
    public async Task Load_Iris_PredictsTheReadmeValues()
    {
        ITransformer model = await LoadAsync(File.ReadAllBytes(TestModels.IrisPath));
        using PredictionEngine<IrisData, IrisPrediction> engine = _context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(model);

        IrisPrediction setosa = engine.Predict(TestModels.Setosa);
        IrisPrediction virginica = engine.Predict(TestModels.Virginica);

        Assert.Equal(0f, setosa.PredictedLabel);
        TestModels.AssertScores(TestModels.SetosaScore, setosa.Score);
        Assert.Equal(2f, virginica.PredictedLabel);
        TestModels.AssertScores(TestModels.VirginicaScore, virginica.Score);
    }

    [Fact]
    public async Task Load_TaxiFare_PredictsTheReadmeFare()
    {
        ITransformer model = await LoadAsync(File.ReadAllBytes(TestModels.TaxiFarePath));
        using PredictionEngine<TaxiTrip, TaxiFarePrediction> engine = _context.Model.CreatePredictionEngine<TaxiTrip, TaxiFarePrediction>(model);

        Assert.Equal(TestModels.TripFare, engine.Predict(TestModels.Trip).FareAmount, 0.001f);
    }

    [Fact]
    public async Task Load_ModelSavedWithoutInputSchema_Loads()
    {
        ITransformer iris = await LoadAsync(File.ReadAllBytes(TestModels.IrisPath));
        using var saved = new MemoryStream();
        _context.Model.Save(iris, inputSchema: null, saved);

        ITransformer reloaded = await LoadAsync(saved.ToArray(), "no-schema.zip");
        using PredictionEngine<IrisData, IrisPrediction> engine = _context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(reloaded);

        Assert.Equal(2f, engine.Predict(TestModels.Virginica).PredictedLabel);
    }

    [Fact]
    public async Task Load_WhenContentIsAnOnnxModel_ThrowsInvalidDataExceptionSayingOnnx()
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LoadAsync(File.ReadAllBytes(TestModels.OnnxPath), "model.onnx").AsTask());

        Assert.Contains("model.onnx", error.Message);
        Assert.Contains("ONNX", error.Message);
    }

    [Fact]
    public async Task Load_WhenContentIsEmpty_ThrowsInvalidDataExceptionSayingEmpty()
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LoadAsync([], "empty.zip").AsTask());

        Assert.Contains("empty.zip", error.Message);
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public async Task Load_WhenContentIsAnHtmlPage_ThrowsInvalidDataExceptionSayingHtml()
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LoadAsync("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>"u8.ToArray(), "https://models/iris.zip").AsTask());

        Assert.Contains("HTML", error.Message);
    }

    [Fact]
    public async Task Load_WhenZipIsTruncated_ThrowsInvalidDataExceptionNamingTheLocation()
    {
        byte[] iris = File.ReadAllBytes(TestModels.IrisPath);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LoadAsync(iris[..(iris.Length / 2)], "truncated.zip").AsTask());

        Assert.Contains("truncated.zip", error.Message);
    }

    [Fact]
    public async Task Load_WhenCancelled_ThrowsOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new MLNetModelLoader(_context).LoadAsync(new ModelArtifact(File.ReadAllBytes(TestModels.IrisPath), "iris.zip"), cts.Token).AsTask());
    }

    [Fact]
    public async Task Load_FastTreeModelWithThePackageReferenced_Predicts()
    {
        ITransformer model = await LoadAsync(File.ReadAllBytes(TestModels.FastTreePath), "fasttree-regression.zip");
        using PredictionEngine<XyData, ScorePrediction> engine = _context.Model.CreatePredictionEngine<XyData, ScorePrediction>(model);

        Assert.Equal(23.45228f, engine.Predict(new XyData { X = 10, Y = 5 }).Score, 0.001f);
    }

    [Fact]
    public void MissingComponentPackage_ForFastTreeSignature_IsMicrosoftMLFastTree()
    {
        // The end-to-end case (fasttree-regression.zip without the package) runs in ModelCaching.ML.CompatibilityTests,
        // which does not reference Microsoft.ML.FastTree; here FastTree is loaded.
        Assert.Equal("Microsoft.ML.FastTree", MLNetModelFormat.PackageFor("FastTreeRegressionExec"));
        Assert.Equal("Microsoft.ML.LightGbm", MLNetModelFormat.PackageFor("LightGBM-Exec"));
        Assert.Null(MLNetModelFormat.PackageFor("SomethingElse"));
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
