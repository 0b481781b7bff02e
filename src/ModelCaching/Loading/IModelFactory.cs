using Microsoft.Extensions.Primitives;

namespace ModelCaching;

/// <summary>
/// Builds a model rather than reading it from bytes: a model trained or assembled in the process, or one an object of
/// yours hands out (a Microsoft.Extensions.ML <c>ModelLoader</c>). Set it instead of a source and a loader
/// (<c>FromFactory</c>, <see cref="ModelOptions{TModel}.Factory"/>). The cache calls it under the load timeout, then
/// validates and warms up what it returns like any load; returning the instance that serves now means "unchanged".
/// </summary>
/// <typeparam name="TModel">The model type.</typeparam>
public interface IModelFactory<TModel>
    where TModel : class
{
    /// <summary>What the factory builds from, for logs, metrics and errors (never a secret).</summary>
    string Description { get; }

    /// <summary>Builds the model (or returns the serving instance when nothing changed).</summary>
    /// <param name="cancellationToken">Cancelled when the load times out or the cache is disposed.</param>
    ValueTask<TModel> CreateAsync(CancellationToken cancellationToken);

    /// <summary>A token that fires when the model should be built again, or <see langword="null"/> for none.</summary>
    IChangeToken? GetChangeToken();
}
