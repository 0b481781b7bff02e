using System.Collections;
using System.Reflection;

namespace ModelCaching;

/// <summary>
/// Whether two models of a template may share one snapshot of their settings (issue 18: what a known template name
/// costs): every property of <see cref="ModelOptions{TModel}"/> equal, read by reflection so that a property added later
/// is compared too. Lists (validators, warm-ups) are equal item by item; a template's factory by name
/// (<see cref="NamedModelFactory{TModel}"/>) is equal to another of the same template, whatever the name, because each
/// cache keeps its own factory apart from the shared settings. Anything else is compared with <see cref="object.Equals(object, object)"/>
/// (by reference for sources, loaders and callbacks), so settings built per name (a path or a source with the name in
/// it) are never shared.
/// </summary>
internal static class TemplateSettings<TModel>
    where TModel : class
{
    private static readonly PropertyInfo[] Properties = typeof(ModelOptions<TModel>).GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);

    /// <summary>Whether <paramref name="shared"/> may stand for <paramref name="options"/> (the factory aside).</summary>
    public static bool SameApartFromName(ModelOptions<TModel> shared, ModelOptions<TModel> options)
    {
        foreach (PropertyInfo property in Properties)
        {
            if (property.GetIndexParameters().Length == 0 && !Same(property.GetValue(shared), property.GetValue(options)))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Same(object? a, object? b) => (a, b) switch
    {
        (NamedModelFactory<TModel> x, NamedModelFactory<TModel> y) => x.IsSameTemplateFactory(y),
        (IList x, IList y) => x.Count == y.Count && x.Cast<object?>().SequenceEqual(y.Cast<object?>()),
        _ => Equals(a, b),
    };
}
