using Microsoft.Extensions.Primitives;

namespace ModelCaching;

/// <summary>
/// The factory of one model made from a template's <c>FromFactory((name, cancellationToken) => …)</c>: the template's
/// delegate called with the model's name. One small object per name, where a <see cref="DelegateModelFactory{TModel}"/>
/// over a closure took a closure, a delegate and the factory (issue 18: what a known name costs). It has no change token.
/// </summary>
internal sealed class NamedModelFactory<TModel>(Func<string, CancellationToken, ValueTask<TModel>> create, string name, string description) : IModelFactory<TModel>
    where TModel : class
{
    private readonly string _templateDescription = description;

    // Checked when the model is made, as DelegateModelFactory checked it before.
    public string Description { get; } = string.IsNullOrWhiteSpace(description) ? throw new ArgumentException("The description is empty.", nameof(description)) : $"{description} ({name})";

    public ValueTask<TModel> CreateAsync(CancellationToken cancellationToken) => create(name, cancellationToken);

    public IChangeToken? GetChangeToken() => null;

    /// <summary>Whether <paramref name="other"/> comes from the same <c>FromFactory</c> call (for another name, maybe).</summary>
    public bool IsSameTemplateFactory(NamedModelFactory<TModel> other) => create == other.Create && _templateDescription == other._templateDescription;

    private Func<string, CancellationToken, ValueTask<TModel>> Create => create;
}
