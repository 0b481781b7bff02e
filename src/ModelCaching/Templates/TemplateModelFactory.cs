namespace ModelCaching;

/// <summary>A template's <c>FromFactory((name, cancellationToken) => …)</c>: its delegate and description, one object for all its models.</summary>
internal sealed class TemplateModelFactory<TModel>(Func<string, CancellationToken, ValueTask<TModel>> create, string description)
    where TModel : class
{
    public Func<string, CancellationToken, ValueTask<TModel>> Create { get; } = create;

    public string Description { get; } = description;

    /// <summary>The description of the model <paramref name="name"/>: made when read (in a load's logs and errors), not kept per name.</summary>
    public string Describe(string name) => $"{Description} ({name})";

    /// <summary>The factory a cache kept as its origin, for the model <paramref name="name"/>: <paramref name="origin"/> itself, or one made now for a template's model; <see langword="null"/> for a source.</summary>
    public static IModelFactory<TModel>? Of(object origin, string name) =>
        origin is TemplateModelFactory<TModel> template ? new NamedModelFactory<TModel>(template, name) : origin as IModelFactory<TModel>;
}
