using Microsoft.ML;
using Microsoft.ML.Data;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling;

/// <summary>
/// The object a prediction returns: the pool makes it itself (NewPrediction, a constructor compiled for the real type)
/// and has the engine fill it, instead of letting ML.NET's <c>Predict(input)</c> make it inside shared generic code.
/// These pin what a caller sees of that: a new object each call, made by the type's constructor, and a constructor
/// that throws neither changes the exception nor leaves an engine lost or in use.
/// </summary>
public sealed class PredictionObjectTests : IDisposable
{
    private readonly ModelCache<ITransformer> _cache = PoolFactory.Cache<IrisData, IrisPrediction>(TestModels.IrisPath, "iris");

    public void Dispose() => _cache.Dispose();

    [Fact]
    public void Predict_OnTheFastPath_ReturnsANewObjectWithItsOwnScoresEachCall()
    {
        using PredictionPool<IrisData, IrisPrediction> pool = PoolFactory.Pool<IrisData, IrisPrediction>(_cache);

        IrisPrediction first = pool.Predict(TestModels.Setosa);   // the slot path; the thread keeps the engine
        IrisPrediction second = pool.Predict(TestModels.Virginica); // the kept engine
        IrisPrediction third = pool.Predict(TestModels.Setosa);

        Assert.NotSame(first, second);
        Assert.NotSame(second, third);
        Assert.NotSame(first.Score, second.Score);
        Assert.Equal(0f, first.PredictedLabel);
        Assert.Equal(2f, second.PredictedLabel);
        Assert.Equal(0f, third.PredictedLabel);
        TestModels.AssertScores(TestModels.SetosaScore, first.Score);
        TestModels.AssertScores(TestModels.VirginicaScore, second.Score);
    }

    [Fact]
    public void Predict_RunsThePredictionTypesConstructor()
    {
        var cache = PoolFactory.Cache<IrisData, TaggedPrediction>(TestModels.IrisPath, "tagged");
        using (cache)
        using (PredictionPool<IrisData, TaggedPrediction> pool = PoolFactory.Pool<IrisData, TaggedPrediction>(cache))
        {
            for (int i = 0; i < 3; i++)
            {
                TaggedPrediction result = pool.Predict(TestModels.Virginica);
                Assert.Equal("made by the constructor", result.Tag);
                Assert.Equal(2f, result.PredictedLabel);
            }
        }
    }

    [Fact]
    public void WithoutCompiledCode_TheConstructorsExceptionIsNotWrappedEither()
    {
        // Where code cannot be compiled at run time the plain new is used, which goes through Activator and wraps.
        var throwing = new ConstructorThrowingPrediction.Switch();
        try
        {
            throwing.On = true;
            var error = Assert.Throws<InvalidOperationException>(NewPrediction<ConstructorThrowingPrediction>.CreateWithoutCompiledCode);
            Assert.Contains("constructor boom", error.Message);
        }
        finally
        {
            throwing.On = false;
        }

        Assert.Equal("made by the constructor", NewPrediction<TaggedPrediction>.CreateWithoutCompiledCode().Tag);
    }

    [Fact]
    public void Predict_WithAPrivatePredictionType_Works()
    {
        // The constructor is compiled at run time; a type the compiled code could not see would fail here, not in a
        // caller's first request.
        var cache = PoolFactory.Cache<IrisData, PrivatePrediction>(TestModels.IrisPath, "private");
        using (cache)
        using (PredictionPool<IrisData, PrivatePrediction> pool = PoolFactory.Pool<IrisData, PrivatePrediction>(cache))
        {
            PrivatePrediction first = pool.Predict(TestModels.Setosa);
            PrivatePrediction second = pool.Predict(TestModels.Virginica);

            Assert.Equal(0f, first.PredictedLabel);
            Assert.Equal(2f, second.PredictedLabel);
            Assert.Equal(1, first.Made);
        }
    }

    [Fact]
    public void Predict_WhenThePredictionsConstructorThrows_ThrowsItAndKeepsServingWithoutLosingTheEngine()
    {
        var cache = PoolFactory.Cache<IrisData, ConstructorThrowingPrediction>(TestModels.IrisPath, "ctor-throws");
        using (cache)
        using (PredictionPool<IrisData, ConstructorThrowingPrediction> pool = PoolFactory.Pool<IrisData, ConstructorThrowingPrediction>(
            cache,
            o =>
            {
                o.MaximumEngines = 2; // one engine a thread may keep (half of the maximum), one for the slots
                o.ExhaustionPolicy = PoolExhaustionPolicy.Wait;
                o.WaitTimeout = TimeSpan.FromSeconds(2);
            }))
        {
            var throwing = new ConstructorThrowingPrediction.Switch();

            // On the slot path (the first call), then on the fast path (the thread keeps an engine after a good call).
            for (int round = 0; round < 3; round++)
            {
                // From the second round on, this thread keeps an engine of the serving generation: the call below takes
                // the fast path.
                Assert.Equal(round > 0, EngineCell.Get(pool.PoolIndex) is { Engine: not null, Revoked: 0 });
                InvalidOperationException error;
                try
                {
                    throwing.On = true;
                    error = Assert.Throws<InvalidOperationException>(() => pool.Predict(TestModels.Virginica));
                }
                finally
                {
                    throwing.On = false;
                }

                Assert.Contains("constructor boom", error.Message);

                // On the slot path (round 0) the object is made before an engine is taken: nothing is faulted. On the
                // fast path the kept engine is dropped, as after a throwing Predict, and the thread keeps no engine in use.
                Assert.Equal(round, pool.GetStatistics().EnginesFaulted);
                Assert.False(EngineCell.Get(pool.PoolIndex) is { InUse: not 0 });

                // Both engines can be had at once: the one the call held came back (or was replaced), so renting does
                // not wait out the timeout. Then predictions work, the second one on the engine this thread keeps.
                using (PredictionEngineLease<IrisData, ConstructorThrowingPrediction> first = pool.Rent())
                using (PredictionEngineLease<IrisData, ConstructorThrowingPrediction> second = pool.Rent())
                {
                    Assert.NotSame(first.Engine, second.Engine);
                }

                Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
                Assert.Equal(2f, pool.Predict(TestModels.Virginica).PredictedLabel);
            }

            Assert.Equal(0, pool.GetStatistics().Waits);
        }
    }

    public sealed class TaggedPrediction
    {
        public float[] Score = [];
        public float PredictedLabel;

        [NoColumn]
        public string Tag { get; } = "made by the constructor";
    }

    private sealed class PrivatePrediction
    {
        public float[] Score = [];

        public float PredictedLabel { get; set; } // ML.NET sets it; a field would be "never assigned" to the compiler

        [NoColumn]
        public int Made { get; } = 1;
    }

    public sealed class ConstructorThrowingPrediction
    {
        // Per thread, so a test running beside this one on another thread never sees the switch on.
        [ThreadStatic]
        private static bool t_throw;

        public ConstructorThrowingPrediction()
        {
            if (t_throw)
            {
                throw new InvalidOperationException("constructor boom");
            }
        }

        public float[] Score = [];
        public float PredictedLabel;

        public sealed class Switch
        {
            public bool On
            {
                get => t_throw;
                set => t_throw = value;
            }
        }
    }
}
