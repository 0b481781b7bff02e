namespace ModelCaching;

/// <summary>
/// Arguments of <see cref="IModelCache.Reloaded"/>: a new generation started serving.
/// </summary>
public sealed class ModelReloadedEventArgs : EventArgs
{
    /// <summary>Initializes a new instance of the <see cref="ModelReloadedEventArgs"/> class.</summary>
    /// <param name="modelName">The model's name.</param>
    /// <param name="previous">The version that was serving before, or <see langword="null"/> for the first load.</param>
    /// <param name="current">The version that is serving now.</param>
    /// <param name="reason">Why the load happened.</param>
    public ModelReloadedEventArgs(string modelName, ModelVersion? previous, ModelVersion current, ModelLoadReason reason)
    {
        ModelName = modelName;
        Previous = previous;
        Current = current;
        Reason = reason;
    }

    /// <summary>The model's name.</summary>
    public string ModelName { get; }

    /// <summary>The version that was serving before, or <see langword="null"/> for the first load.</summary>
    public ModelVersion? Previous { get; }

    /// <summary>The version that is serving now.</summary>
    public ModelVersion Current { get; }

    /// <summary>Why the load happened.</summary>
    public ModelLoadReason Reason { get; }
}
