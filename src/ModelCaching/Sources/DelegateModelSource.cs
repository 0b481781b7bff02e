using Microsoft.Extensions.Primitives;

namespace ModelCaching;

/// <summary>
/// A source whose content (or lack of it) a delegate decides, with an optional change-token producer.
/// Used for factories that build a model without bytes, and for custom loaders.
/// </summary>
public sealed class DelegateModelSource : IModelSource
{
    private readonly Func<ModelFetchContext, CancellationToken, ValueTask<ModelArtifact?>> _fetch;
    private readonly Func<IChangeToken?>? _changeTokenProducer;

    /// <summary>Creates a source over <paramref name="fetch"/>.</summary>
    public DelegateModelSource(
        Func<ModelFetchContext, CancellationToken, ValueTask<ModelArtifact?>> fetch,
        string description,
        Func<IChangeToken?>? changeTokenProducer = null)
    {
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        _fetch = fetch;
        _changeTokenProducer = changeTokenProducer;
        Description = description;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken) => _fetch(context, cancellationToken);

    /// <inheritdoc />
    public IChangeToken? GetChangeToken() => _changeTokenProducer?.Invoke();
}
