using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Loading;

/// <summary>Session options come from <see cref="OnnxRuntimeOptions"/>; bad values are refused with the model and the field named.</summary>
public sealed class SessionOptionsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Load_WithOptimizedModelFilePath_WritesTheOptimizedGraphThere()
    {
        string path = _directory.File("model.onnx");
        await File.WriteAllBytesAsync(path, TestModels.Version1);
        string optimized = _directory.File("optimized.onnx");
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(path, new OnnxRuntimeOptions
        {
            OptimizedModelFilePath = optimized,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            IntraOpThreads = 1,
            InterOpThreads = 1,
            ExecutionMode = ExecutionMode.ORT_PARALLEL,
        });

        float[] scores = OnnxCaches.Score(cache);

        Assert.True(File.Exists(optimized));
        Assert.Equal(TestModels.RawScores(TestModels.Version1), scores);
    }

    [Fact]
    public async Task Load_WithGlobalThreadPool_RunsOnTheSharedPools()
    {
        string path = _directory.File("model.onnx");
        await File.WriteAllBytesAsync(path, TestModels.Version1);
        string? configured = null;
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(path, new OnnxRuntimeOptions
        {
            UseGlobalThreadPool = true,
            ConfigureSessionOptions = options => configured = options.GraphOptimizationLevel.ToString(),
        });

        Assert.Equal(TestModels.RawScores(TestModels.Version1), OnnxCaches.Score(cache));
        Assert.Equal(nameof(GraphOptimizationLevel.ORT_ENABLE_ALL), configured);
    }

    [Fact]
    public void IntraOpThreads_WhenNegative_IsRefusedAtOnce()
    {
        var options = new OnnxRuntimeOptions();

        ArgumentOutOfRangeException error = Assert.Throws<ArgumentOutOfRangeException>(() => options.IntraOpThreads = -1);

        Assert.Equal("value", error.ParamName);
    }

    [Fact]
    public void InterOpThreads_WhenNegative_IsRefusedAtOnce() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxRuntimeOptions().InterOpThreads = -2);

    [Fact]
    public void UseOnnxRuntime_WhenOptimizedModelDirectoryDoesNotExist_FailsNamingTheModelAndTheField()
    {
        var onnx = new OnnxRuntimeOptions { OptimizedModelFilePath = _directory.File("missing/optimized.onnx") };

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => new ModelOptions<OnnxModel>().UseOnnxRuntime("cancer", onnx));

        Assert.Contains("Model 'cancer': OnnxRuntimeOptions.OptimizedModelFilePath is in a directory that does not exist", error.Message);
    }

    [Fact]
    public void UseOnnxRuntime_WhenATensorShapeHasAZeroDimension_FailsNamingTheModelTheFieldAndTheTensor()
    {
        var onnx = new OnnxRuntimeOptions();
        onnx.TensorShapes["Features"] = [0, 8];

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => new ModelOptions<OnnxModel>().UseOnnxRuntime("cancer", onnx));

        Assert.Contains("Model 'cancer': OnnxRuntimeOptions.TensorShapes gives tensor 'Features' the shape [0,8]; every dimension must be positive.", error.Message);
    }

    [Fact]
    public void UseOnnxRuntime_WhenGraphOptimizationLevelIsUnknown_FailsNamingTheModelAndTheField()
    {
        var onnx = new OnnxRuntimeOptions { GraphOptimizationLevel = (GraphOptimizationLevel)42 };

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => new ModelOptions<OnnxModel>().UseOnnxRuntime("cancer", onnx));

        Assert.Contains("Model 'cancer': OnnxRuntimeOptions.GraphOptimizationLevel is not a known level (was 42).", error.Message);
    }

    [Fact]
    public void UseOnnxRuntime_WhenWarmUpInputsAreGivenWithWarmUpOff_FailsNamingTheModelAndTheField()
    {
        var onnx = new OnnxRuntimeOptions { WarmUp = false, WarmUpInputs = static _ => { } };

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => new ModelOptions<OnnxModel>().UseOnnxRuntime("cancer", onnx));

        Assert.Contains("Model 'cancer': OnnxRuntimeOptions.WarmUpInputs is set but WarmUp is off", error.Message);
    }

    [Fact]
    public async Task Version_SizeBytes_IsTheSessionsEstimatedSize_AtLeastTheFile()
    {
        string path = _directory.File("model.onnx");
        await File.WriteAllBytesAsync(path, TestModels.Version1);
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(path);

        OnnxModel model = await cache.GetModelAsync();

        Assert.Equal(model.EstimatedSizeBytes, cache.Version!.SizeBytes);
        Assert.True(model.EstimatedSizeBytes > TestModels.Version1.Length);
    }
}
