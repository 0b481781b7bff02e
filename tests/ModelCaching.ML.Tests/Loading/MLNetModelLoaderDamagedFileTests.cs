using System.Reflection;
using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Loading;

/// <summary>
/// Real copies of iris.zip and taxi-fare.zip, damaged the ways fuzzing found: each fails with an
/// <see cref="InvalidDataException"/> that names the file and says in plain words that it is not a loadable ML.NET
/// model, with ML.NET's own exception (and its raw message) kept as the inner exception.
/// </summary>
public sealed class MLNetModelLoaderDamagedFileTests
{
    private const string NotLoadable = "is not a loadable ML.NET model";

    private static readonly byte[] s_iris = File.ReadAllBytes(TestModels.IrisPath);
    private static readonly byte[] s_taxi = File.ReadAllBytes(TestModels.TaxiFarePath);

    private readonly MLContext _context = new(seed: 1);

    private Task<ITransformer> LoadAsync(byte[] content, string location, MLNetModelLoader? loader = null) =>
        (loader ?? new MLNetModelLoader(_context)).LoadAsync(new ModelArtifact(content, location), CancellationToken.None).AsTask();

    [Fact]
    public async Task Load_WhenIrisPredictorIsZeroed_SaysNotLoadableInsteadOfErrorDuringClassInstantiation()
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LoadAsync(DamagedModels.WithZeroedPart(s_iris, DamagedModels.IrisPredictor), "models/iris-damaged.zip"));

        Assert.StartsWith($"models/iris-damaged.zip {NotLoadable}: the file is damaged", error.Message);
        Assert.Contains("Corrupt model file tail", error.Message);
        Assert.DoesNotContain("Error during class instantiation", error.Message);
        var inner = Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Equal("Error during class instantiation", inner.Message);
    }

    [Fact]
    public async Task Load_WhenTaxiFareTrainSchemaIsZeroed_SaysNotLoadableInsteadOfTargetOfAnInvocation()
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LoadAsync(DamagedModels.WithZeroedPart(s_taxi, DamagedModels.TaxiTrainSchema), "models/taxi-damaged.zip"));

        Assert.StartsWith($"models/taxi-damaged.zip {NotLoadable}: the file is damaged", error.Message);
        Assert.Contains("Incorrect tail signature", error.Message);
        Assert.DoesNotContain("target of an invocation", error.Message);
        var inner = Assert.IsType<TargetInvocationException>(error.InnerException);
        Assert.Equal("Exception has been thrown by the target of an invocation.", inner.Message);
    }

    [Fact]
    public async Task Load_WhenZipHoldsNoTransformerChain_SaysItHoldsNoModelInsteadOfLegacyFormat()
    {
        byte[] versionOnly = DamagedModels.OnlyEntries(s_iris, "TrainingInfo");

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LoadAsync(versionOnly, "models/iris-empty.zip"));

        Assert.StartsWith($"models/iris-empty.zip {NotLoadable}: the zip holds no ML.NET model (no TransformerChain entry", error.Message);
        Assert.DoesNotContain("Could not load legacy format model", error.Message);
        var inner = Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Equal("Could not load legacy format model", inner.Message);
    }

    [Fact]
    public async Task Load_WhenIrisPartIsCutShort_SaysNotLoadableAndKeepsMLNetsException()
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LoadAsync(DamagedModels.WithPartCutTo(s_iris, DamagedModels.IrisFirstTransform, 300), "models/iris-cut-part.zip"));

        Assert.StartsWith($"models/iris-cut-part.zip {NotLoadable}: the file is damaged", error.Message);
        Assert.DoesNotContain("Error during class instantiation", error.Message);
        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.IsType<FormatException>(Innermost(error));
    }

    [Fact]
    public async Task Load_WhenTaxiFareZipIsCutInHalf_SaysTheZipIsDamagedOrCutShort()
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LoadAsync(s_taxi[..(s_taxi.Length / 2)], "models/taxi-half.zip"));

        Assert.StartsWith($"models/taxi-half.zip {NotLoadable}: the zip is damaged or cut short", error.Message);
        Assert.IsType<FormatException>(error.InnerException);
        Assert.IsType<InvalidDataException>(Innermost(error));
    }

    [Fact]
    public async Task Load_WhenZipInflatesHundredsOfTimesItsSize_RefusesItAsAZipBombBeforeMLNetExtractsIt()
    {
        byte[] bomb = DamagedModels.WithZeroFilledEntry(s_iris, "Bomb\\zeros.bin", 96L * 1024 * 1024);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => LoadAsync(bomb, "models/iris-bomb.zip"));

        Assert.StartsWith($"models/iris-bomb.zip {NotLoadable}: its zip directory says its {bomb.Length:N0} bytes inflate to", error.Message);
        Assert.Contains("zip bomb", error.Message);
        Assert.Contains(nameof(MLNetModelLoader.MaxCompressionRatio), error.Message);
        Assert.Null(error.InnerException);
    }

    [Fact]
    public async Task Load_WhenTheRatioLimitIsRaised_LoadsAModelWithAHighlyCompressibleEntry()
    {
        byte[] padded = DamagedModels.WithZeroFilledEntry(s_iris, "Extra\\zeros.bin", 96L * 1024 * 1024);
        var loader = new MLNetModelLoader(_context) { MaxCompressionRatio = 2000 };

        ITransformer model = await LoadAsync(padded, "models/iris-padded.zip", loader);
        using PredictionEngine<IrisData, IrisPrediction> engine = _context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(model);

        Assert.Equal(2f, engine.Predict(TestModels.Virginica).PredictedLabel);
    }

    [Fact]
    public void MaxCompressionRatio_BelowOne_IsRejected()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MLNetModelLoader(_context) { MaxCompressionRatio = 0 });

        Assert.Equal("value", error.ParamName);
    }

    private static Exception Innermost(Exception error)
    {
        while (error.InnerException is not null)
        {
            error = error.InnerException;
        }

        return error;
    }
}
