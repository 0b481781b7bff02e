using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Inference;

/// <summary>
/// An <see cref="OnnxInference"/> is a handle on one rental of a pooled runner. Once that rental ends, every member of
/// the handle (and of any copy of it) throws <see cref="ObjectDisposedException"/>: it never reaches the runner, which
/// may belong to another caller by then, or to a generation whose session is gone.
/// </summary>
public sealed class UseAfterDisposeTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static readonly string[] MemberNames = ["Run", "Input", "SetInput", "SetString", "SetStringAt", "Output", "Session", "Version"];

    public static TheoryData<string> Members() => [.. MemberNames];

    [Theory]
    [MemberData(nameof(Members))]
    public async Task Member_AfterDispose_ThrowsObjectDisposed(string member)
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        OnnxInference inference = cache.Rent();
        inference.Dispose();

        ObjectDisposedException error = Assert.Throws<ObjectDisposedException>(() => Use(inference, member));

        Assert.Contains("rental", error.Message);
    }

    [Theory]
    [MemberData(nameof(Members))]
    public async Task Member_OfAStaleCopy_WhileTheRunnerServesAnotherCaller_ThrowsAndLeavesTheirBuffersAlone(string member)
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        OnnxInference first = cache.Rent();
        OnnxInference stale = first;
        first.Dispose();
        using OnnxInference second = cache.Rent();
        Assert.Same(first.HeldRunner, second.HeldRunner);
        second.SetString("Label", TestModels.Label);
        TestModels.Features.CopyTo(second.Input<float>("Features"));

        Assert.Throws<ObjectDisposedException>(() => Use(stale, member));

        Assert.Equal(TestModels.Features, second.Input<float>("Features").ToArray());
        second.Run();
        Assert.Equal(TestModels.RawScores(TestModels.Version1), second.Output<float>("Score.onnx").ToArray());
    }

    [Fact]
    public async Task Run_AfterTheGenerationWasSwappedAndDisposed_ThrowsInsteadOfCrashing()
    {
        var recorder = new RecordingLoader();
        await using ModelCache<OnnxModel> cache = await Serving(recorder);
        OnnxInference inference = cache.Rent();
        inference.SetString("Label", TestModels.Label);
        TestModels.Features.CopyTo(inference.Input<float>("Features"));
        inference.Dispose();
        await File.WriteAllBytesAsync(Path(), TestModels.Version2);
        await cache.ReloadAsync();
        OnnxModel old = recorder.Loaded.First();
        Assert.True(old.IsDisposed, "the old generation is disposed once its last lease ended");

        // Before the rental check these reached the released OrtIoBinding and pinned buffers: SIGSEGV (exit 139).
        foreach (string member in MemberNames)
        {
            Assert.Throws<ObjectDisposedException>(() => Use(inference, member));
        }

        Assert.Equal(TestModels.RawScores(TestModels.Version2), OnnxCaches.Score(cache));
    }

    [Fact]
    public async Task Dispose_FromTwoThreadsAtOnce_WhileAnotherCallerRents_NeverGivesTheirRunnerToAThird()
    {
        const int Trials = 2_000;
        var recorder = new RecordingLoader();
        await using ModelCache<OnnxModel> cache = await Serving(recorder);
        int shared = 0;
        int wrongRuns = 0;
        using var barrier = new Barrier(3);
        for (int trial = 0; trial < Trials; trial++)
        {
            OnnxInference inference = cache.Rent();
            OnnxInference copy = inference;
            OnnxInference renter = default;
            Task first = Task.Factory.StartNew(() => { barrier.SignalAndWait(); inference.Dispose(); }, TaskCreationOptions.LongRunning);
            Task second = Task.Factory.StartNew(() => { barrier.SignalAndWait(); copy.Dispose(); }, TaskCreationOptions.LongRunning);
            Task third = Task.Factory.StartNew(() => { barrier.SignalAndWait(); renter = cache.Rent(); }, TaskCreationOptions.LongRunning);
            await Task.WhenAll(first, second, third).WaitAsync(TimeSpan.FromSeconds(30));

            // Whichever Dispose lost, the runner went back once: the caller who rents now gets another one.
            using (OnnxInference other = cache.Rent())
            {
                if (ReferenceEquals(other.HeldRunner, renter.HeldRunner))
                {
                    shared++;
                }
            }

            renter.SetString("Label", TestModels.Label);
            TestModels.Features.CopyTo(renter.Input<float>("Features"));
            renter.Run();
            if (renter.Output<float>("Score.onnx")[0] != TestModels.RawScores(TestModels.Version1)[0])
            {
                wrongRuns++;
            }

            renter.Dispose();
        }

        Assert.Equal(0, shared);
        Assert.Equal(0, wrongRuns);

        // Each rental ended its lease exactly once: the generation is still pinned by nobody, and a swap disposes it once.
        OnnxModel served = recorder.Loaded.First();
        Assert.Equal(0, served.DisposeCalls);
        await File.WriteAllBytesAsync(Path(), TestModels.Version2);
        await cache.ReloadAsync();
        Assert.Equal(1, served.DisposeCalls);
    }

    [Fact]
    public async Task Runner_KeptByTheWarmUpCallback_ThrowsObjectDisposedOnceTheWarmUpEnded()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        OnnxRunner? kept = null;
        var onnx = new OnnxRuntimeOptions
        {
            WarmUpInputs = runner =>
            {
                kept = runner;
                runner.SetString("Label", TestModels.Label);
                runner.SetInput<float>("Features", TestModels.Features);
            },
        };
        await using ModelCache<OnnxModel> cache = OnnxCaches.Create(Path(), onnx);
        await cache.GetModelAsync();
        using OnnxInference inference = cache.Rent();
        Assert.Same(kept, inference.HeldRunner);

        Assert.Throws<ObjectDisposedException>(() => kept!.Run());
        Assert.Throws<ObjectDisposedException>(() => kept!.Input<float>("Features").Length);
        Assert.Throws<ObjectDisposedException>(() => kept!.SetString("Label", "1"));
        Assert.Throws<ObjectDisposedException>(() => kept!.Output<float>("Score.onnx").Length);
    }

    private static object Use(OnnxInference inference, string member) => member switch
    {
        "Input" => inference.Input<float>("Features").Length,
        "SetInput" => Run(() => inference.SetInput<float>("Features", TestModels.Features)),
        "SetString" => Run(() => inference.SetString("Label", "1")),
        "SetStringAt" => Run(() => inference.SetString("Label", 0, "1")),
        "Run" => Run(inference.Run),
        "Output" => inference.Output<float>("Score.onnx").Length,
        "Session" => inference.Session,
        "Version" => inference.Version,
        _ => throw new ArgumentOutOfRangeException(nameof(member)),
    };

    private static object Run(Action action)
    {
        action();
        return true;
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
