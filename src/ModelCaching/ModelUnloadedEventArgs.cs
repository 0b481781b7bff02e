namespace ModelCaching;

/// <summary>
/// Arguments of <see cref="IModelCache.Unloaded"/>: the serving generation was dropped (idle timeout or
/// <see cref="IModelCache.Invalidate"/>); the next use loads the model again.
/// </summary>
/// <param name="ModelName">The model's name.</param>
/// <param name="Version">The version that was serving.</param>
/// <param name="Reason">Why: <c>idle</c> or <c>invalidated</c>.</param>
public sealed record ModelUnloadedEventArgs(string ModelName, ModelVersion Version, string Reason);
