using ModelCaching.Generations;

namespace ModelCaching;

/// <summary>
/// Pins one loaded generation of a model: until the lease is disposed, that generation is not disposed,
/// even if a reload has swapped it out. A struct so that taking a lease allocates nothing; dispose it
/// exactly once (a <see langword="using"/> statement does).
/// </summary>
public readonly struct ModelLease<TModel> : IDisposable
    where TModel : class
{
    private readonly ModelGeneration<TModel>? _generation;

    internal ModelLease(ModelGeneration<TModel> generation) => _generation = generation;

    /// <summary>The pinned model.</summary>
    /// <exception cref="InvalidOperationException">The lease is <see langword="default"/>.</exception>
    public TModel Model => (_generation ?? ThrowDefault()).Model;

    /// <summary>The version of the pinned generation.</summary>
    public ModelVersion Version => (_generation ?? ThrowDefault()).Version;

    /// <summary>Ends the lease. When it was the last one on a swapped-out generation, that generation is disposed.</summary>
    public void Dispose() => _generation?.Release();

    private static ModelGeneration<TModel> ThrowDefault() =>
        throw new InvalidOperationException("This ModelLease is default: it pins no model. Take leases with IModelCache<TModel>.Acquire().");
}
