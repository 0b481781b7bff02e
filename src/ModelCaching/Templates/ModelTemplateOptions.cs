namespace ModelCaching;

/// <summary>
/// The settings of a model template (<c>AddModelTemplate</c>) itself; the options of the models it makes are
/// <see cref="ModelOptions{TModel}"/>. Both bind from configuration (<c>ModelCache:Templates:{template}</c>).
/// </summary>
public sealed class ModelTemplateOptions
{
    /// <summary>
    /// The names this template serves: those that start with this prefix (the whole name, prefix included, is what
    /// <c>{name}</c> stands for). <see langword="null"/> serves every name no other model or template claims.
    /// With several templates, the longest matching prefix wins.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public string? NamePrefix { get; set; }

    /// <summary>
    /// A limit, in bytes, on the memory of this template's models, or <see langword="null"/> to share the provider's
    /// (<see cref="ModelCacheOptions.MemoryBudgetBytes"/>). Before a load would go over it, models of the template are
    /// evicted, cheapest to lose first.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public long? MemoryBudgetBytes { get; set; }

    internal IEnumerable<string> Validate(string templateName)
    {
        if (MemoryBudgetBytes is < 1)
        {
            yield return $"Template '{templateName}': MemoryBudgetBytes must be at least 1 byte, or null (was {MemoryBudgetBytes:N0}).";
        }

        if (NamePrefix is { Length: > 0 } prefix && !ModelNames.IsValid(prefix))
        {
            yield return $"Template '{templateName}': NamePrefix '{ModelNames.Shorten(prefix)}' must itself follow the rule for model names (ASCII letters, digits, '-', '_', '.', starting with a letter or digit).";
        }
    }
}
