namespace ModelCaching;

/// <summary>How a model's size is measured when its options set no <see cref="ModelOptions{TModel}.SizeEstimator"/>.</summary>
public enum ModelSizeMeasure
{
    /// <summary>The bytes of the model's content (file or download): known before the model is built, so a budget can make room first.</summary>
    ArtifactBytes,

    /// <summary>
    /// The managed bytes the loader allocated on the loading thread while it built the model: closer to what the model
    /// holds in memory for managed runtimes such as ML.NET (a loader that continues on other threads is under-counted;
    /// native memory, as of ONNX Runtime sessions, is not seen: give a <see cref="ModelOptions{TModel}.SizeEstimator"/>).
    /// A budget reserves the previous size (the content's bytes before the first load) and charges the measured one.
    /// </summary>
    AllocatedBytes,
}
