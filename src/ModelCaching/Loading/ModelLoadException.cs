namespace ModelCaching;

/// <summary>
/// Thrown when a model could not be loaded and no good generation is serving.
/// Names the model, the source and the cause; the cause is kept as <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates an exception for the model <paramref name="modelName"/>.</summary>
    public ModelLoadException(string modelName, string source, string cause, Exception? innerException = null)
        : base($"Model '{modelName}' could not be loaded from {source}: {cause}", innerException)
    {
        ModelName = modelName;
        Source = source;
        Cause = cause;
    }

    /// <summary>The name of the model.</summary>
    public string ModelName { get; }

    /// <summary>Where the model was loaded from.</summary>
    public new string Source { get; }

    /// <summary>A short description of what went wrong.</summary>
    public string Cause { get; }
}
