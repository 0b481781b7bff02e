using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Inference;

/// <summary>The typed API: named inputs in, named outputs out, on reused pinned buffers, under a lease.</summary>
public sealed class TypedApiTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Rent_Run_GivesTheSameScoresAsARawSessionRun()
    {
        await using ModelCache<OnnxModel> cache = await Serving();

        Assert.Equal(TestModels.RawScores(TestModels.Version1), OnnxCaches.Score(cache));
    }

    [Fact]
    public async Task Rent_Run_AllocatesNothingPerCall()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        float[] features = TestModels.Features;
        float sum = 0;
        void Call()
        {
            using OnnxInference inference = cache.Rent();
            inference.SetString("Label", "0");
            features.CopyTo(inference.Input<float>("Features"));
            inference.Run();
            sum += inference.Output<float>("Score.onnx")[0];
        }

        for (int i = 0; i < 100; i++)
        {
            Call();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            Call();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Nothing per call (under a parallel test run the lease's spare ticket may be allocated once, 24 B, not per call).
        Assert.True(allocated < 1_000, $"1,000 calls allocated {allocated} B");
        Assert.NotEqual(0, sum);
    }

    [Fact]
    public async Task Inputs_ChangedBetweenRuns_ChangeTheOutputs()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", TestModels.Label);
        TestModels.Features.CopyTo(inference.Input<float>("Features"));
        inference.Run();
        float[] first = inference.Output<float>("Score.onnx").ToArray();

        inference.Input<float>("Features")[0] = 10f;
        inference.Run();

        Assert.NotEqual(first, inference.Output<float>("Score.onnx").ToArray());
    }

    [Fact]
    public async Task Input_WithAnUnknownName_ThrowsKeyNotFoundListingTheInputs()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        using OnnxInference inference = cache.Rent();

        KeyNotFoundException error = Assert.Throws<KeyNotFoundException>(() => inference.Input<float>("Featurs"));

        Assert.Equal("Model 'cancer' has no input 'Featurs' in the typed API; its inputs: Label, Features.", error.Message);
    }

    [Fact]
    public async Task Output_ReadAsTheWrongType_ThrowsNamingTheTensorAndBothTypes()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        using OnnxInference inference = cache.Rent();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => inference.Output<int>("PredictedLabel.onnx"));

        Assert.Equal("Model 'cancer': output 'PredictedLabel.onnx' has elements of type UInt32 (UInt32), not Int32.", error.Message);
    }

    [Fact]
    public async Task SetString_OnANumericInput_ThrowsNamingTheTensor()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        using OnnxInference inference = cache.Rent();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => inference.SetString("Features", "1"));

        Assert.Equal("Model 'cancer': input 'Features' has elements of type Float (Single), not String.", error.Message);
    }

    [Fact]
    public async Task Outputs_WhenListed_AreTheOnlyOnesComputed()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        var onnx = new OnnxRuntimeOptions();
        onnx.Outputs.Add("PredictedLabel.onnx");
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), onnx);
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", TestModels.Label);
        TestModels.Features.CopyTo(inference.Input<float>("Features"));

        inference.Run();

        Assert.Single(inference.Output<uint>("PredictedLabel.onnx").ToArray());
        Assert.Throws<KeyNotFoundException>(() => inference.Output<float>("Score.onnx"));
    }

    [Fact]
    public async Task Outputs_WhenTheyNameAnUnknownTensor_RejectTheModelAtWarmUpListingTheOutputs()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        var onnx = new OnnxRuntimeOptions();
        onnx.Outputs.Add("Scores");
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), onnx);

        ModelLoadException error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        Assert.Contains("OnnxRuntimeOptions.Outputs names 'Scores', which is not an output of the model (its outputs: Label.onnx, Features.onnx, PredictedLabel.onnx, Score.onnx)", error.Message);
    }

    [Fact]
    public async Task Dispose_Twice_ReturnsTheRunnerOnce_AndLeavesTheNextHolderAlone()
    {
        var recorder = new RecordingLoader();
        await using ModelCache<OnnxModel> cache = await Serving(recorder);
        OnnxInference first = cache.Rent();
        first.Dispose();
        OnnxInference second = cache.Rent();
        Assert.Same(first.HeldRunner, second.HeldRunner);

        first.Dispose(); // a stale second dispose must not return the runner the second holder is using

        OnnxInference third = cache.Rent();
        Assert.NotSame(second.HeldRunner, third.HeldRunner);
        third.Dispose();
        second.Dispose();
        await File.WriteAllBytesAsync(Path(), TestModels.Version2);
        await cache.ReloadAsync();
        OnnxModel old = recorder.Loaded.First();
        Assert.Equal(1, old.DisposeCalls);
    }

    [Fact]
    public async Task Session_UnderALease_StaysUsableAcrossAReload_AndIsDisposedWhenTheLeaseEnds()
    {
        var recorder = new RecordingLoader();
        await using ModelCache<OnnxModel> cache = await Serving(recorder);
        OnnxInference held = cache.Rent();
        await File.WriteAllBytesAsync(Path(), TestModels.Version2);
        await cache.ReloadAsync();
        OnnxModel old = recorder.Loaded.First();

        held.SetString("Label", TestModels.Label);
        TestModels.Features.CopyTo(held.Input<float>("Features"));
        held.Run();

        Assert.False(old.IsDisposed);
        Assert.Equal(TestModels.RawScores(TestModels.Version1)[0], held.Output<float>("Score.onnx")[0]);
        held.Dispose();
        Assert.Equal(1, old.DisposeCalls);
    }

    [Fact]
    public void Default_Inference_ThrowsWhenUsed_AndIgnoresDispose()
    {
        OnnxInference inference = default;

        inference.Dispose();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(inference.Run);
        Assert.Contains("default", error.Message);
    }

    private string Path() => _directory.File("model.onnx");

    private async Task<ModelCache<OnnxModel>> Serving(RecordingLoader? recorder = null)
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), recorder: recorder);
        await cache.GetModelAsync();
        return cache;
    }
}
