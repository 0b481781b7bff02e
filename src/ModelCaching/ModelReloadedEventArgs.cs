namespace ModelCaching;

/// <summary>
/// Arguments of <see cref="IModelCache.Reloaded"/>: a new generation started serving.
/// </summary>
/// <param name="ModelName">The model's name.</param>
/// <param name="Previous">The version that was serving before, or <see langword="null"/> for the first load.</param>
/// <param name="Current">The version that is serving now.</param>
/// <param name="Reason">Why the load happened.</param>
public sealed record ModelReloadedEventArgs(
    string ModelName,
    ModelVersion? Previous,
    ModelVersion Current,
    ModelLoadReason Reason);
