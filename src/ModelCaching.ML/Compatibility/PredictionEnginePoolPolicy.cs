using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;

namespace ModelCaching.ML.Compatibility;

/// <summary>
/// An <see cref="IPooledObjectPolicy{T}"/> that creates <see cref="PredictionEngine{TSrc, TDst}"/>s for one model
/// and accepts back only the engines it created (as in Microsoft.Extensions.ML), for code that builds its own
/// <see cref="ObjectPool{T}"/>. <see cref="PredictionEnginePool{TData, TPrediction}"/> does not use it: it keeps
/// engines in per-core slots per model generation.
/// </summary>
/// <typeparam name="TData">The input type.</typeparam>
/// <typeparam name="TPrediction">The output type.</typeparam>
public class PredictionEnginePoolPolicy<TData, TPrediction> : IPooledObjectPolicy<PredictionEngine<TData, TPrediction>>
    where TData : class
    where TPrediction : class, new()
{
    private readonly MLContext _mlContext;
    private readonly ITransformer _model;

    // The engines this policy created; a weak table so a dropped engine is not kept alive by the policy, and a
    // lookup that neither locks nor allocates (the original scanned a list of weak references with LINQ).
    private readonly ConditionalWeakTable<PredictionEngine<TData, TPrediction>, object> _created = [];

    /// <summary>Initializes a new instance of <see cref="PredictionEnginePoolPolicy{TData, TPrediction}"/>.</summary>
    /// <param name="mlContext">The <see cref="MLContext"/> that creates the engines.</param>
    /// <param name="model">The model the engines predict with.</param>
    public PredictionEnginePoolPolicy(MLContext mlContext, ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        _mlContext = mlContext;
        _model = model;
    }

    /// <inheritdoc />
    public PredictionEngine<TData, TPrediction> Create()
    {
        PredictionEngine<TData, TPrediction> engine = _mlContext.Model.CreatePredictionEngine<TData, TPrediction>(_model, SharedModelEngineOptions.Create(null));
        _created.AddOrUpdate(engine, _model);
        return engine;
    }

    /// <inheritdoc />
    /// <returns><see langword="true"/> when this policy created <paramref name="obj"/>, so the pool may keep it.</returns>
    public bool Return(PredictionEngine<TData, TPrediction> obj) => obj is not null && _created.TryGetValue(obj, out _);
}
