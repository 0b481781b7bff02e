using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Loading;

/// <summary>One run before the swap and before readiness, on the user's sample or on zeros; a failing run rejects the session.</summary>
public sealed class WarmUpTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task WarmUp_RunsOnceOnTheSample_BeforeTheFirstCallerGetsTheModel()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        float[]? warmUpScores = null;
        int runs = 0;
        var onnx = new OnnxRuntimeOptions
        {
            WarmUpInputs = runner =>
            {
                Interlocked.Increment(ref runs);
                runner.SetString("Label", TestModels.Label);
                TestModels.Features.CopyTo(runner.Input<float>("Features"));
            },
        };
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), onnx);

        OnnxModel model = await cache.GetModelAsync();

        Assert.Equal(1, runs);
        using OnnxInference inference = cache.Rent();
        warmUpScores = inference.HeldRunner!.LastOutput<float>("Score.onnx").ToArray(); // the warm-up's run left its outputs in the pooled runner
        Assert.Equal(TestModels.RawScores(TestModels.Version1), warmUpScores);
        Assert.Same(model, inference.HeldRunner!.Model);
    }

    [Fact]
    public async Task WarmUp_WithoutASample_RunsOnZeros_AndTheModelServes()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path());

        await cache.GetModelAsync();

        using OnnxInference inference = cache.Rent();
        Assert.Equal(TestModels.RawScores(TestModels.Version1, new float[8]), inference.HeldRunner!.LastOutput<float>("Score.onnx").ToArray());
    }

    [Fact]
    public async Task WarmUp_WhenTheRunFails_RejectsTheSession_NamingTheModelAndOnnxRuntimesError()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        var onnx = new OnnxRuntimeOptions();
        onnx.TensorShapes["Features"] = [1, 9];
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), onnx);

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Equal("cancer", error.ModelName);
        Assert.Contains("OnnxRuntimeException", error.Message);
        Assert.Contains("Features", error.Message);
        Assert.Null(cache.Version);
    }

    [Fact]
    public async Task WarmUp_WhenTheSampleThrows_RejectsTheSession_AndDisposesIt()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        var recorder = new RecordingLoader();
        var onnx = new OnnxRuntimeOptions { WarmUpInputs = static _ => throw new InvalidOperationException("no sample today") };
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), onnx, recorder);

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("no sample today", error.Message);
        OnnxModel rejected = Assert.Single(recorder.Loaded);
        Assert.Equal(1, rejected.DisposeCalls);
    }

    [Fact]
    public async Task WarmUp_WhenOff_DoesNotRun()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), new OnnxRuntimeOptions { WarmUp = false });

        await cache.GetModelAsync();

        using OnnxInference inference = cache.Rent();
        Assert.All(inference.HeldRunner!.LastOutput<float>("Score.onnx").ToArray(), static f => Assert.Equal(0f, f));
    }

    private string Path() => _directory.File("model.onnx");
}
