using Microsoft.ML.OnnxRuntime.Tensors;
using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Signature;

/// <summary>A new session whose inputs or outputs differ from the expected ones is rejected through the fail-safe.</summary>
public sealed class SignatureCheckTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Signature_OfTheRealModel_ListsItsInputsAndOutputs()
    {
        await using ModelCache<OnnxModel> cache = await ServingVersion1();

        OnnxSignature signature = (await cache.GetModelAsync()).Signature;

        Assert.Equal(["Label: String[1,1]", "Features: Float[1,8]"], signature.Inputs.Select(static s => s.ToString()));
        Assert.Equal(["Label.onnx: UInt32[1,1]", "Features.onnx: Float[1,8]", "PredictedLabel.onnx: UInt32[1,1]", "Score.onnx: Float[1,10]"], signature.Outputs.Select(static s => s.ToString()));
    }

    [Fact]
    public async Task Reload_WhenAnOutputIsRenamed_IsRejectedNamingTheTensor_AndKeepsServing()
    {
        await using ModelCache<OnnxModel> cache = await ServingVersion1();
        ModelVersion serving = cache.Version!;
        await File.WriteAllBytesAsync(Path(), TestModels.RenamedScore);

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        OnnxSignatureMismatchException mismatch = Assert.IsType<OnnxSignatureMismatchException>(error.InnerException);
        Assert.Equal("Score.onnx", mismatch.TensorName);
        Assert.Equal("Float[1,10]", mismatch.Expected);
        Assert.Equal("missing", mismatch.Actual);
        Assert.Contains("Model 'cancer': the new model has no output 'Score.onnx'; the first generation has it as Float[1,10].", error.Message);
        Assert.Same(serving, cache.Version);
        Assert.Equal(TestModels.RawScores(TestModels.Version1), OnnxCaches.Score(cache));
    }

    [Fact]
    public async Task Load_WhenAnInputTypeDiffersFromTheExpectedSignature_IsRejectedNamingTheTensorAndBothTypes()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        var expected = new OnnxSignature(
            [new OnnxTensorSpec("Label", TensorElementType.String, 1, 1), new OnnxTensorSpec("Features", TensorElementType.Double, 1, 8)],
            [new OnnxTensorSpec("Score.onnx", TensorElementType.Float, 1, 10)]);
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), new OnnxRuntimeOptions { ExpectedSignature = expected });

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("Model 'cancer': input 'Features' is Float[1,8] in the new model but Double[1,8] in OnnxRuntimeOptions.ExpectedSignature.", error.Message);
        Assert.Null(cache.Version);
    }

    [Fact]
    public async Task Load_WhenTheModelHasAnInputTheExpectedSignatureLacks_IsRejectedNamingTheInput()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        var expected = new OnnxSignature([new OnnxTensorSpec("Features", TensorElementType.Float, 1, 8)], []);
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), new OnnxRuntimeOptions { ExpectedSignature = expected });

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("Model 'cancer': the new model has an input 'Label' (String[1,1]) that OnnxRuntimeOptions.ExpectedSignature does not have", error.Message);
    }

    [Fact]
    public async Task Load_WhenTheModelMatchesTheExpectedSignature_Serves()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        var expected = new OnnxSignature(
            [new OnnxTensorSpec("Label", TensorElementType.String, 1, 1), new OnnxTensorSpec("Features", TensorElementType.Float, 1, 8)],
            [new OnnxTensorSpec("Score.onnx", TensorElementType.Float, 1, 10)]);
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), new OnnxRuntimeOptions { ExpectedSignature = expected });

        Assert.Equal(TestModels.RawScores(TestModels.Version1), OnnxCaches.Score(cache));
    }

    [Fact]
    public async Task Reload_WithNewWeightsAndTheSameSignature_Swaps_AndTheOutputsDiffer()
    {
        await using ModelCache<OnnxModel> cache = await ServingVersion1();
        float[] before = OnnxCaches.Score(cache);
        await File.WriteAllBytesAsync(Path(), TestModels.Version2);

        ModelVersion version = await cache.ReloadAsync();

        float[] after = OnnxCaches.Score(cache);
        Assert.Equal(2, version.Generation);
        Assert.NotEqual(before, after);
        Assert.Equal(TestModels.RawScores(TestModels.Version2), after);
    }

    [Fact]
    public async Task Reload_WhenTheFirstFileWasRejected_TakesTheExpectationFromTheFirstServingGeneration()
    {
        // The first file loads but its warm-up fails: it must not become the expectation for the next one.
        await File.WriteAllBytesAsync(Path(), TestModels.RenamedScore);
        int warmUps = 0;
        var onnx = new OnnxRuntimeOptions
        {
            WarmUpInputs = _ =>
            {
                if (Interlocked.Increment(ref warmUps) == 1)
                {
                    throw new InvalidOperationException("first warm-up fails");
                }
            },
        };
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), onnx);
        await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);

        ModelVersion version = await cache.ReloadAsync();

        Assert.Equal(TestModels.RawScores(TestModels.Version1), OnnxCaches.Score(cache));
        Assert.NotNull(version);
    }

    [Fact]
    public async Task Reload_WithCheckSignatureOff_AcceptsARenamedOutput()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        var onnx = new OnnxRuntimeOptions { CheckSignature = false };
        onnx.Outputs.Add("PredictedLabel.onnx");
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), onnx);
        await cache.GetModelAsync();
        await File.WriteAllBytesAsync(Path(), TestModels.RenamedScore);

        ModelVersion version = await cache.ReloadAsync();

        Assert.Equal(2, version.Generation);
        Assert.Contains((await cache.GetModelAsync()).Signature.Outputs, static o => o.Name == "Scare.onnx");
    }

    private string Path() => _directory.File("model.onnx");

    private async Task<ModelCache<OnnxModel>> ServingVersion1()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        ModelCache<OnnxModel> cache = OnnxCaches.Create(Path());
        await cache.GetModelAsync();
        return cache;
    }
}
