namespace ModelCaching.ML.Compatibility;

/// <summary><c>Predict</c> for <see cref="PredictionEnginePool{TData, TPrediction}"/>, as in Microsoft.Extensions.ML.</summary>
public static class PredictionEnginePoolExtensions
{
    /// <summary>Predicts one example with the default model, on an engine rented from the pool and given back.</summary>
    /// <param name="predictionEnginePool">The pool.</param>
    /// <param name="example">The example to predict.</param>
    /// <returns>The prediction: a new object for every call.</returns>
    /// <exception cref="ArgumentException">No default model is configured (as in Microsoft.Extensions.ML); the message lists the named ones.</exception>
    public static TPrediction Predict<TData, TPrediction>(this PredictionEnginePool<TData, TPrediction> predictionEnginePool, TData example)
        where TData : class
        where TPrediction : class, new() => predictionEnginePool.Predict(string.Empty, example);

    /// <summary>
    /// Predicts one example with the model <paramref name="modelName"/>, on an engine rented from the pool and
    /// given back (or dropped, when the prediction threw).
    /// </summary>
    /// <param name="predictionEnginePool">The pool.</param>
    /// <param name="modelName">The name of the model; <see cref="string.Empty"/> is the default model.</param>
    /// <param name="example">The example to predict.</param>
    /// <returns>The prediction: a new object for every call.</returns>
    /// <exception cref="KeyNotFoundException">No model of that name is configured; the message lists the known names.</exception>
    /// <exception cref="ArgumentException"><paramref name="modelName"/> is <see cref="string.Empty"/> and no default model is configured.</exception>
    public static TPrediction Predict<TData, TPrediction>(this PredictionEnginePool<TData, TPrediction> predictionEnginePool, string modelName, TData example)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(predictionEnginePool);
        return predictionEnginePool.GetPool(modelName).Predict(example);
    }
}
