namespace ModelCaching;

/// <summary>
/// Arguments of <see cref="IModelCache.Unloaded"/>: the serving generation was dropped (idle timeout or
/// <see cref="IModelCache.Invalidate"/>); the next use loads the model again.
/// </summary>
public sealed class ModelUnloadedEventArgs : EventArgs
{
    /// <summary>Initializes a new instance of the <see cref="ModelUnloadedEventArgs"/> class.</summary>
    /// <param name="modelName">The model's name.</param>
    /// <param name="version">The version that was serving.</param>
    /// <param name="reason">Why: <c>idle</c> or <c>invalidated</c>.</param>
    public ModelUnloadedEventArgs(string modelName, ModelVersion version, string reason)
    {
        ModelName = modelName;
        Version = version;
        Reason = reason;
    }

    /// <summary>The model's name.</summary>
    public string ModelName { get; }

    /// <summary>The version that was serving.</summary>
    public ModelVersion Version { get; }

    /// <summary>Why: <c>idle</c> or <c>invalidated</c>.</summary>
    public string Reason { get; }
}
