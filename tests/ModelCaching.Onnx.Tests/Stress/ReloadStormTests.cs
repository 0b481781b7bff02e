using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Stress;

/// <summary>
/// Every core runs the model (typed API and raw session under a lease) while the file is rewritten and reloaded
/// 200 times, one time in five with a corrupt file: no call fails, every answer is one whole version's, and every
/// replaced session is disposed exactly once.
/// </summary>
public sealed class ReloadStormTests : IDisposable
{
    private const int Rewrites = 200;

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task RunsOnAllCores_While200RewritesOneInFiveCorruptReload_NeverFail_AndEveryReplacedSessionIsDisposedOnce()
    {
        string path = _directory.File("model.onnx");
        await File.WriteAllBytesAsync(path, TestModels.Version1);
        float[] version1 = TestModels.RawScores(TestModels.Version1);
        float[] version2 = TestModels.RawScores(TestModels.Version2);
        byte[][] corrupt = [TestModels.MLNetZip(), TestModels.RandomBytes(), TestModels.Truncated()];
        var recorder = new RecordingLoader();
        ModelCache<OnnxModel> cache = OnnxCaches.Create(path, recorder: recorder);
        await cache.GetModelAsync();

        long calls = 0;
        long failures = 0;
        long wrongAnswers = 0;
        Exception? firstFailure = null;
        using var stop = new CancellationTokenSource();
        var workers = new Thread[Math.Max(2, Environment.ProcessorCount)];
        for (int w = 0; w < workers.Length; w++)
        {
            bool raw = w % 2 == 1;
            workers[w] = new Thread(() =>
            {
                float[] scores = new float[10];
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        if (raw)
                        {
                            RawRun(cache, scores);
                        }
                        else
                        {
                            TypedRun(cache, scores);
                        }

                        if (!scores.AsSpan().SequenceEqual(version1) && !scores.AsSpan().SequenceEqual(version2))
                        {
                            Interlocked.Increment(ref wrongAnswers);
                        }

                        Interlocked.Increment(ref calls);
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref failures);
                        Interlocked.CompareExchange(ref firstFailure, ex, null);
                    }
                }
            })
            { IsBackground = true };
            workers[w].Start();
        }

        int rejected = 0;
        int swapped = 0;
        try
        {
            for (int i = 1; i <= Rewrites; i++)
            {
                bool bad = i % 5 == 0;
                byte[] content = bad ? corrupt[(i / 5) % corrupt.Length] : (i % 2 == 0 ? TestModels.Version1 : TestModels.Version2);
                await File.WriteAllBytesAsync(path, content);
                long generation = cache.Version!.Generation;
                try
                {
                    ModelVersion version = await cache.ReloadAsync();
                    Assert.False(bad, $"rewrite {i}: corrupt content was accepted");
                    swapped += version.Generation != generation ? 1 : 0;
                }
                catch (ModelLoadException) when (bad)
                {
                    rejected++;
                }
            }
        }
        finally
        {
            stop.Cancel();
            foreach (Thread worker in workers)
            {
                Assert.True(worker.Join(TimeSpan.FromSeconds(30)), "a worker did not stop");
            }
        }

        Assert.True(failures == 0, $"{failures} of {calls} calls failed; first: {firstFailure}");
        Assert.Equal(0, wrongAnswers);
        Assert.True(calls > Rewrites, $"only {calls} calls ran during the storm");
        Assert.Equal(Rewrites / 5, rejected);
        Assert.True(swapped >= Rewrites / 2, $"only {swapped} swaps");

        OnnxModel serving = await cache.GetModelAsync();
        OnnxModel[] loaded = [.. recorder.Loaded];
        Assert.Equal(swapped + 1, loaded.Length);
        Assert.All(loaded.Where(m => !ReferenceEquals(m, serving)), static m => Assert.Equal(1, m.DisposeCalls));
        Assert.Equal(0, serving.DisposeCalls);

        await cache.DisposeAsync();
        Assert.Equal(1, serving.DisposeCalls);
    }

    private static void TypedRun(IModelCache<OnnxModel> cache, float[] scores)
    {
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", TestModels.Label);
        TestModels.Features.CopyTo(inference.Input<float>("Features"));
        inference.Run();
        inference.Output<float>("Score.onnx").CopyTo(scores);
    }

    private static void RawRun(IModelCache<OnnxModel> cache, float[] scores)
    {
        using ModelLease<OnnxModel> lease = cache.Acquire();
        using var label = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorWithEmptyStrings(Microsoft.ML.OnnxRuntime.OrtAllocator.DefaultInstance, [1, 1]);
        label.StringTensorSetElementAt(TestModels.Label.AsSpan(), 0);
        using var features = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory((float[])TestModels.Features.Clone(), [1, 8]);
        using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        using var results = lease.Model.Session.Run(runOptions, ["Label", "Features"], [label, features], ["Score.onnx"]);
        results[0].GetTensorDataAsSpan<float>().CopyTo(scores);
    }
}
