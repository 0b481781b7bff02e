using Microsoft.Extensions.Primitives;

namespace ModelCaching;

/// <summary>A model factory over a delegate (what <c>FromFactory(…)</c> registers), with an optional change-token producer.</summary>
/// <typeparam name="TModel">The model type.</typeparam>
public sealed class DelegateModelFactory<TModel> : IModelFactory<TModel>
    where TModel : class
{
    private readonly Func<CancellationToken, ValueTask<TModel>> _create;
    private readonly Func<IChangeToken?>? _changeTokenProducer;

    /// <summary>Creates a factory over <paramref name="create"/>.</summary>
    /// <param name="create">Builds the model; called once per load.</param>
    /// <param name="description">What it builds from, for logs and errors.</param>
    /// <param name="changeTokenProducer">Produces a token that fires when the model should be built again; none by default.</param>
    public DelegateModelFactory(Func<CancellationToken, ValueTask<TModel>> create, string description = "factory", Func<IChangeToken?>? changeTokenProducer = null)
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        _create = create;
        _changeTokenProducer = changeTokenProducer;
        Description = description;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public ValueTask<TModel> CreateAsync(CancellationToken cancellationToken) => _create(cancellationToken);

    /// <inheritdoc />
    public IChangeToken? GetChangeToken() => _changeTokenProducer?.Invoke();

    /// <summary>Whether it was given a change-token producer (without one, a cache need not watch it).</summary>
    internal bool HasChangeToken => _changeTokenProducer is not null;
}
