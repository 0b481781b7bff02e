using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Attack;

/// <summary>The typed ONNX API attacked as callers misuse it: bad string indexes, rentals held across reloads, two threads with their own inputs.</summary>
public sealed class TypedApiAttackTests : IDisposable
{
    private static readonly float[] OtherFeatures = [9f, 7f, 8f, 10f, 6f, 10f, 9f, 7f];

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public async Task SetString_AtAnIndexOutsideTheTensor_Throws_AndDoesNotCountTheInputAsWritten(int index)
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        using (OnnxInference previous = cache.Rent())
        {
            previous.SetString("Label", "7");
            previous.SetInput<float>("Features", TestModels.Features);
            previous.Run();
        }

        using OnnxInference inference = cache.Rent();
        Exception refused = Record.Exception(() => inference.SetString("Label", index, "1"));
        inference.SetInput<float>("Features", TestModels.Features);

        Assert.Equal("index", Assert.IsType<ArgumentOutOfRangeException>(refused).ParamName);
        InvalidOperationException error = Assert.Throws<InvalidOperationException>(inference.Run);
        Assert.Contains("'Label' was not written", error.Message);
    }

    [Fact]
    public async Task SetString_WithALoneSurrogate_EitherThrowsOrRuns_AndTheProcessSurvives()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        using OnnxInference inference = cache.Rent();

        Exception? error = Record.Exception(() => inference.SetString("Label", "\uD800x"));
        if (error is null)
        {
            inference.SetInput<float>("Features", TestModels.Features);
            inference.Run();
        }

        Assert.Equal(TestModels.RawScores(TestModels.Version1), OnnxCaches.Score(cache));
    }

    [Fact]
    public async Task Rental_HeldAcrossAReload_RunsTheOldVersion_AndTheOldSessionIsDisposedOnlyWhenItEnds()
    {
        var recorder = new RecordingLoader();
        await using ModelCache<OnnxModel> cache = await Serving(recorder);
        OnnxInference held = cache.Rent();
        await File.WriteAllBytesAsync(Path(), TestModels.Version2);
        await cache.ReloadAsync();
        OnnxModel old = recorder.Loaded.First();

        Assert.False(old.IsDisposed);
        held.SetString("Label", TestModels.Label);
        held.SetInput<float>("Features", TestModels.Features);
        held.Run();
        Assert.Equal(TestModels.RawScores(TestModels.Version1), held.Output<float>("Score.onnx").ToArray());
        Assert.Equal(TestModels.RawScores(TestModels.Version2), OnnxCaches.Score(cache));
        Assert.False(old.IsDisposed);
        held.Dispose();
        Assert.True(old.IsDisposed);
        Assert.Equal(1, old.DisposeCalls);
    }

    [Fact]
    public async Task TwoThreadsWithTheirOwnInputs_ThroughManyRentalsAndReloads_NeverGetAWrongAnswer()
    {
        var recorder = new RecordingLoader();
        await using ModelCache<OnnxModel> cache = await Serving(recorder);
        float[][] features = [TestModels.Features, OtherFeatures];
        float[][][] allowed = [.. features.Select(f => new[] { TestModels.RawScores(TestModels.Version1, f), TestModels.RawScores(TestModels.Version2, f) })];
        Assert.NotEqual(allowed[0][0], allowed[1][0]);
        long calls = 0;
        long wrong = 0;
        long failures = 0;
        Exception? firstFailure = null;
        using var stop = new CancellationTokenSource();
        var workers = new Thread[2];
        for (int w = 0; w < workers.Length; w++)
        {
            int me = w;
            workers[w] = new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        using OnnxInference inference = cache.Rent();
                        inference.SetString("Label", TestModels.Label);
                        inference.SetInput<float>("Features", features[me]);
                        inference.Run();
                        ReadOnlySpan<float> scores = inference.Output<float>("Score.onnx");
                        if (!scores.SequenceEqual(allowed[me][0]) && !scores.SequenceEqual(allowed[me][1]))
                        {
                            Interlocked.Increment(ref wrong);
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

        try
        {
            for (int i = 1; i <= 60; i++)
            {
                await File.WriteAllBytesAsync(Path(), i % 2 == 0 ? TestModels.Version1 : TestModels.Version2);
                await cache.ReloadAsync();
            }
        }
        finally
        {
            await stop.CancelAsync();
            foreach (Thread worker in workers)
            {
                Assert.True(worker.Join(TimeSpan.FromSeconds(30)));
            }
        }

        Assert.True(calls > 1_000, $"only {calls} calls ran");
        Assert.Equal((0L, 0L), (wrong, failures));
        Assert.Null(firstFailure);
        OnnxModel[] replaced = [.. recorder.Loaded.SkipLast(1)];
        Assert.Equal(60, replaced.Length);
        Assert.All(replaced, m => Assert.Equal(1, m.DisposeCalls));
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
