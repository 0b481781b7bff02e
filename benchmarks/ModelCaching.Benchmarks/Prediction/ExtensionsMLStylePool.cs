using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;

namespace ModelCaching.Benchmarks.Prediction;

/// <summary>
/// The baseline "how Microsoft.Extensions.ML pools engines", rebuilt here because that package is not served
/// to this build: a <see cref="DefaultObjectPool{T}"/> per model generation made by
/// <see cref="DefaultObjectPoolProvider"/> from a policy that keeps a list of weak references to the engines it
/// created and checks it (LINQ <c>Any</c>) on every return; a <see cref="ConditionalWeakTable{TKey, TValue}"/>
/// that records each rented engine's generation (removed and added on every rent, looked up and removed on
/// every return); models looked up by name in a <see cref="ConcurrentDictionary{TKey, TValue}"/>; and
/// <c>Predict</c> as rent, predict, return in a <c>finally</c>. That is the shape of its PoolLoader,
/// PredictionEnginePoolPolicy, PredictionEnginePool and PredictionEnginePoolExtensions in its current source.
/// </summary>
internal sealed class ExtensionsMLStylePool
{
    private static readonly ObjectPoolProvider s_poolProvider = new DefaultObjectPoolProvider();

    private readonly ConcurrentDictionary<string, Loader> _named = new(StringComparer.Ordinal);

    public ExtensionsMLStylePool(MLContext context, string modelName, ITransformer model) =>
        _named[modelName] = new Loader(context, model);

    /// <summary>Rents <paramref name="count"/> engines at once and returns them, so the pool holds that many before measuring.</summary>
    public void Prime(string modelName, int count)
    {
        var engines = new PredictionEngine<IrisData, IrisPrediction>[count];
        for (int i = 0; i < count; i++)
        {
            engines[i] = GetPredictionEngine(modelName);
        }

        foreach (PredictionEngine<IrisData, IrisPrediction> engine in engines)
        {
            ReturnPredictionEngine(modelName, engine);
        }
    }

    public IrisPrediction Predict(string modelName, IrisData example)
    {
        PredictionEngine<IrisData, IrisPrediction> engine = GetPredictionEngine(modelName);
        try
        {
            return engine.Predict(example);
        }
        finally
        {
            ReturnPredictionEngine(modelName, engine);
        }
    }

    private PredictionEngine<IrisData, IrisPrediction> GetPredictionEngine(string modelName) => _named[modelName].Get();

    private void ReturnPredictionEngine(string modelName, PredictionEngine<IrisData, IrisPrediction> engine) => _named[modelName].Return(engine);

    private sealed class Loader(MLContext context, ITransformer model)
    {
        private readonly ConditionalWeakTable<PredictionEngine<IrisData, IrisPrediction>, ObjectPool<PredictionEngine<IrisData, IrisPrediction>>> _rented = [];
        private ObjectPool<PredictionEngine<IrisData, IrisPrediction>> _pool = s_poolProvider.Create(new Policy(context, model));

        public PredictionEngine<IrisData, IrisPrediction> Get()
        {
            ObjectPool<PredictionEngine<IrisData, IrisPrediction>> pool = Volatile.Read(ref _pool);
            PredictionEngine<IrisData, IrisPrediction> engine = pool.Get();
            _rented.Remove(engine);
            _rented.Add(engine, pool);
            return engine;
        }

        public void Return(PredictionEngine<IrisData, IrisPrediction> engine)
        {
            if (_rented.TryGetValue(engine, out ObjectPool<PredictionEngine<IrisData, IrisPrediction>>? origin))
            {
                _rented.Remove(engine);
                origin.Return(engine);
            }
            else
            {
                engine.Dispose();
            }
        }
    }

    private sealed class Policy(MLContext context, ITransformer model) : IPooledObjectPolicy<PredictionEngine<IrisData, IrisPrediction>>
    {
        private readonly List<WeakReference> _references = [];

        public PredictionEngine<IrisData, IrisPrediction> Create()
        {
            // Unsynchronized, as in the original; the benchmark creates its engines on one thread before measuring.
            PredictionEngine<IrisData, IrisPrediction> engine = context.Model.CreatePredictionEngine<IrisData, IrisPrediction>(model);
            _references.Add(new WeakReference(engine));
            return engine;
        }

        public bool Return(PredictionEngine<IrisData, IrisPrediction> obj)
        {
            return _references.Any(x => x.Target == obj);
        }
    }
}
