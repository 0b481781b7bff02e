using Microsoft.Extensions.Primitives;
using ModelCaching.Generations;

namespace ModelCaching;

/// <summary>
/// The factory of one model made from a template's <c>FromFactory((name, cancellationToken) => …)</c>: the template's
/// factory (<see cref="TemplateModelFactory{TModel}"/>) called with the model's name. It has no change token. A cache
/// keeps only the template's factory and its own name (issue 18: what a known name costs): this object, and its
/// description, are made when asked for (at a load, or for <see cref="ModelCache{TModel}.Options"/>); a version it loads
/// keeps it as its source (<see cref="IVersionSource"/>: 40 bytes where the description was about 80).
/// </summary>
internal sealed class NamedModelFactory<TModel> : IModelFactory<TModel>, IVersionSource
    where TModel : class
{
    private readonly string _name;

    public NamedModelFactory(Func<string, CancellationToken, ValueTask<TModel>> create, string name, string description)
        : this(new TemplateModelFactory<TModel>(create, description), name)
    {
    }

    public NamedModelFactory(TemplateModelFactory<TModel> template, string name)
    {
        // Checked when the model is made, as DelegateModelFactory checked it before.
        if (string.IsNullOrWhiteSpace(template.Description))
        {
            throw new ArgumentException("The description is empty.", "description");
        }

        Template = template;
        _name = name;
    }

    /// <summary>What a cache keeps of it: shared by every model of the template.</summary>
    public TemplateModelFactory<TModel> Template { get; }

    public string Description => Template.Describe(_name);

    public ValueTask<TModel> CreateAsync(CancellationToken cancellationToken) => Template.Create(_name, cancellationToken);

    public IChangeToken? GetChangeToken() => null;

    /// <summary>Whether <paramref name="other"/> comes from the same <c>FromFactory</c> call (for another name, maybe).</summary>
    public bool IsSameTemplateFactory(NamedModelFactory<TModel> other) =>
        ReferenceEquals(Template, other.Template) || (Template.Create == other.Template.Create && Template.Description == other.Template.Description);
}
