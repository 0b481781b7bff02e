namespace ModelCaching.Budget;

/// <summary>
/// What the loads of one budget have measured so far: the estimates for models not loaded yet (their size, their load
/// cost) and the largest model, which the background trim keeps room for.
/// </summary>
/// <remarks>Single-threaded by contract: the budget calls it under its lock.</remarks>
internal sealed class LoadStatistics
{
    private double _loadSeconds;
    private long _loadedBytes;
    private long _modelBytes;
    private long _loads;

    /// <summary>The largest charge so far.</summary>
    public long Largest { get; private set; }

    /// <summary>
    /// The mean model size per load so far, without the raw bytes generations keep (0 before any): the estimate for a
    /// model whose size is measured only after it is built.
    /// </summary>
    public long TypicalSize => _loads > 0 ? _modelBytes / _loads : 0;

    /// <summary>A load charged <paramref name="bytes"/>, of which <paramref name="keptBytes"/> are raw bytes kept beside the model.</summary>
    public void Record(long bytes, long keptBytes, double loadSeconds)
    {
        _loadSeconds += loadSeconds;
        _loadedBytes += bytes;
        _modelBytes += Math.Max(bytes - Math.Max(keptBytes, 0), 0);
        _loads++;
        Largest = Math.Max(Largest, bytes);
    }

    /// <summary>A model never loaded costs what loads in this budget have cost per byte so far (a millisecond per MiB before any).</summary>
    public double EstimatedCost(long bytes) =>
        _loadedBytes > 0 ? _loadSeconds / _loadedBytes * bytes : bytes / (1024.0 * 1024.0) * 0.001;
}
