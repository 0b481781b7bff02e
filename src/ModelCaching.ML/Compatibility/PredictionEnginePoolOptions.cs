namespace ModelCaching.ML.Compatibility;

/// <summary>The settings of one (named) model of a <see cref="PredictionEnginePool{TData, TPrediction}"/>.</summary>
/// <typeparam name="TData">The input type.</typeparam>
/// <typeparam name="TPrediction">The output type.</typeparam>
public class PredictionEnginePoolOptions<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    /// <summary>
    /// Where the model comes from: set by <c>FromFile</c>/<c>FromUri</c>, or a <see cref="Compatibility.ModelLoader"/> of your own.
    /// <value>The default is <see langword="null"/>: the model name is not configured.</value>
    /// </summary>
    public ModelLoader? ModelLoader { get; set; }
}
