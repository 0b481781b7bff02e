using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

public sealed class PredictionPoolTests : IDisposable
{
    private readonly ModelCache<ITransformer> _cache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "iris");

    public void Dispose() => _cache.Dispose();

    [Fact]
    public void Predict_ReturnsTheReadmeValues()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache);

        IrisPrediction setosa = pool.Predict(TestModels.Setosa);
        IrisPrediction virginica = pool.Predict(TestModels.Virginica);

        Assert.Equal(0f, setosa.PredictedLabel);
        TestModels.AssertScores(TestModels.SetosaScore, setosa.Score);
        Assert.Equal(2f, virginica.PredictedLabel);
        TestModels.AssertScores(TestModels.VirginicaScore, virginica.Score);
    }

    [Fact]
    public void Predict_IntoACallerOwnedOutput_FillsThatObjectAndItsArray()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache);
        var output = new IrisPrediction { Score = new float[3] };
        IrisPrediction same = output;
        float[] scores = output.Score;

        pool.Predict(TestModels.Virginica, ref output);

        Assert.Same(same, output);
        Assert.Same(scores, output.Score);
        Assert.Equal(2f, output.PredictedLabel);
        TestModels.AssertScores(TestModels.VirginicaScore, output.Score);
    }

    [Fact]
    public void Predict_IntoANullOutput_CreatesOne()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache);
        IrisPrediction output = null!;

        pool.Predict(TestModels.Setosa, ref output);

        Assert.NotNull(output);
        Assert.Equal(0f, output.PredictedLabel);
    }

    [Fact]
    public void PredictIntoOutput_AllocatesNoMoreThanARawEngine()
    {
        // One engine, so a move of this thread to another core cannot make the pool build one while measuring.
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache, o => o.MaximumEngines = 1);
        using PredictionEngine<IrisData, IrisPrediction> raw = PoolFactory.Context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(_cache.GetModel());
        IrisData input = TestModels.Virginica;
        var pooledOutput = new IrisPrediction();
        var rawOutput = new IrisPrediction();

        long Measure(Action predict)
        {
            for (int i = 0; i < 200; i++)
            {
                predict();
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1_000; i++)
            {
                predict();
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        long rawBytes = Measure(() => raw.Predict(input, ref rawOutput));
        long pooledBytes = Measure(() => pool.Predict(input, ref pooledOutput));

        Assert.True(pooledBytes <= rawBytes, $"1,000 pooled predictions allocated {pooledBytes} B, 1,000 raw ones {rawBytes} B.");
    }

    [Fact]
    public void PredictBatch_FillsEveryOutputWithOneRentedEngine()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache);
        IrisData[] inputs = [TestModels.Setosa, TestModels.Virginica, TestModels.Setosa];
        var outputs = new IrisPrediction[3];
        var reused = new IrisPrediction();
        outputs[1] = reused;

        pool.Predict(inputs, outputs);

        Assert.Equal([0f, 2f, 0f], outputs.Select(static o => o.PredictedLabel));
        Assert.Same(reused, outputs[1]);
        Assert.Equal(1, pool.GetStatistics().EnginesCreated);
    }

    [Fact]
    public void PredictBatch_WhenOutputsAreShorter_ThrowsArgumentException()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache);

        var error = Assert.Throws<ArgumentException>(() => pool.Predict([TestModels.Setosa, TestModels.Virginica], new IrisPrediction[1]));

        Assert.Equal("outputs", error.ParamName);
    }

    [Fact]
    public void Rent_GivesAnEngineThatIsReusedAfterTheLeaseEnds()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache, o => o.MaximumEngines = 1);
        PredictionEngine<IrisData, IrisPrediction> first;
        using (PredictionEngineLease<IrisData, IrisPrediction> lease = pool.Rent())
        {
            first = lease.Engine;
            Assert.Equal(2f, lease.Engine.Predict(TestModels.Virginica).PredictedLabel);
        }

        using PredictionEngineLease<IrisData, IrisPrediction> again = pool.Rent();

        Assert.Same(first, again.Engine);
        Assert.Equal(1, pool.GetStatistics().EnginesCreated);
    }

    [Fact]
    public void DefaultLease_ThrowsOnEngineAndIgnoresDispose()
    {
        PredictionEngineLease<IrisData, IrisPrediction> lease = default;

        Assert.Throws<InvalidOperationException>(() => lease.Engine);
        lease.Dispose();
    }

    [Fact]
    public void Predict_WhenTheEngineThrows_DropsThatEngineInsteadOfReusingIt()
    {
        var cache = PoolFactory.Cache<ThrowingIrisData, IrisPrediction>(TestModels.IrisPath, "throwing");
        using (cache)
        using (PredictionPool<ThrowingIrisData, IrisPrediction> pool = PoolFactory.Pool<ThrowingIrisData, IrisPrediction>(cache, o => o.MaximumEngines = 1))
        {
            PredictionEngine<ThrowingIrisData, IrisPrediction> faulted;
            using (PredictionEngineLease<ThrowingIrisData, IrisPrediction> lease = pool.Rent())
            {
                faulted = lease.Engine;
            }

            var error = Assert.Throws<InvalidOperationException>(() => pool.Predict(new ThrowingIrisData { Throw = true }));
            Assert.Contains("boom", error.Message);

            using PredictionEngineLease<ThrowingIrisData, IrisPrediction> next = pool.Rent();
            Assert.NotSame(faulted, next.Engine);
            PredictionPoolStatistics stats = pool.GetStatistics();
            Assert.Equal(1, stats.EnginesFaulted);
            Assert.Equal(2, stats.EnginesCreated);
            Assert.Equal(1, stats.EnginesDisposed);
            Assert.Equal(3, next.Engine.Predict(new ThrowingIrisData { Value = 1 }).Score.Length);
        }
    }

    [Fact]
    public void Exhausted_WithWaitPolicy_ThrowsTimeoutExceptionNamingTheModel()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache, o =>
        {
            o.MaximumEngines = 1;
            o.ExhaustionPolicy = PoolExhaustionPolicy.Wait;
            o.WaitTimeout = TimeSpan.Zero;
        });
        using PredictionEngineLease<IrisData, IrisPrediction> held = pool.Rent();

        var error = Assert.Throws<TimeoutException>(() => pool.Predict(TestModels.Setosa));

        Assert.Contains("'iris'", error.Message);
        Assert.Equal(1, pool.GetStatistics().Waits);
        Assert.Equal(1, pool.GetStatistics().EnginesCreated);
    }

    [Fact]
    public async Task Exhausted_WithWaitPolicy_GetsTheEngineThatComesBack()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache, o =>
        {
            o.MaximumEngines = 1;
            o.ExhaustionPolicy = PoolExhaustionPolicy.Wait;
            o.WaitTimeout = TimeSpan.FromMinutes(1);
        });
        PredictionEngineLease<IrisData, IrisPrediction> held = pool.Rent();

        Task<IrisPrediction> waiting = Task.Run(() => pool.Predict(TestModels.Virginica));
        await Eventually.TrueAsync(() => pool.GetStatistics().Waits == 1, "the prediction to wait for an engine");
        Assert.False(waiting.IsCompleted);
        held.Dispose();
        IrisPrediction result = await waiting.WaitAsync(Eventually.Timeout);

        Assert.Equal(2f, result.PredictedLabel);
        Assert.Equal(1, pool.GetStatistics().EnginesCreated);
    }

    [Fact]
    public void Exhausted_WithCreateExtraPolicy_CreatesAnExtraEngineAndDropsItOnReturn()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache, o =>
        {
            o.MaximumEngines = 1;
            o.ExhaustionPolicy = PoolExhaustionPolicy.CreateExtra;
        });
        using (PredictionEngineLease<IrisData, IrisPrediction> held = pool.Rent())
        {
            Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
        }

        PredictionPoolStatistics stats = pool.GetStatistics();
        Assert.Equal(2, stats.EnginesCreated);
        Assert.Equal(1, stats.ExtraEnginesCreated);
        Assert.Equal(1, stats.EnginesDisposed);
        Assert.Equal(1, stats.LiveEngines);
    }

    [Fact]
    public void Options_RejectBadValuesAtOnce()
    {
        var options = new PredictionPoolOptions();

        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaximumEngines = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.WaitTimeout = TimeSpan.FromSeconds(-2));
        Assert.Equal(Environment.ProcessorCount * 2, options.MaximumEngines);
    }

    [Fact]
    public void Dispose_DisposesIdleEnginesAndRejectsNewPredictions()
    {
        PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache);
        pool.Predict(TestModels.Setosa);

        pool.Dispose();

        Assert.Equal(0, pool.GetStatistics().LiveEngines);
        Assert.Throws<ObjectDisposedException>(() => pool.Predict(TestModels.Setosa));
        Assert.Equal(0, _cache.GetStatistics().ActiveLeases);
    }
}
