namespace ModelCaching.Samples.WebApi.Tenants;

/// <summary>
/// The rule for tenant ids, and the model name each id maps to: tenant <c>acme</c> is served by the model
/// <c>tenant-acme</c>, made from the <c>tenants</c> template out of <c>tenant-acme.zip</c>.
/// </summary>
public static class TenantIds
{
    /// <summary>The template the tenant models are made from (its settings: <c>ModelCache:Templates:tenants</c>).</summary>
    public const string TemplateName = "tenants";

    /// <summary>The prefix of every tenant model's name: the template serves exactly the names that start with it.</summary>
    public const string NamePrefix = "tenant-";

    /// <summary>The longest tenant id: with the prefix, a model name may have <see cref="ModelNames.MaxLength"/> characters.</summary>
    public const int MaxLength = ModelNames.MaxLength - 7;

    /// <summary>The rule, as the 400 answer states it.</summary>
    public const string Rule = "A tenant id has 1 to 121 characters, each an ASCII letter, digit, '-', '_' or '.', and starts with a letter or a digit.";

    /// <summary>Whether <paramref name="id"/> follows <see cref="Rule"/>; checked before the id reaches a model name or a file path.</summary>
    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= MaxLength } && char.IsAsciiLetterOrDigit(id[0]) && ModelNames.IsValid(id);

    /// <summary>The model name of tenant <paramref name="id"/> (a valid id).</summary>
    public static string ToModelName(string id) => NamePrefix + id;

    /// <summary>The id, cut to a length that fits a message, with control and non-ASCII characters shown as '?'.</summary>
    public static string Shorten(string id)
    {
        const int Shown = 40;
        string head = id.Length > Shown ? id[..Shown] : id;
        return string.Create(head.Length + (id.Length > Shown ? 1 : 0), head, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                char c = source[i];
                span[i] = c is >= ' ' and <= '~' ? c : '?';
            }

            if (span.Length > source.Length)
            {
                span[^1] = '…';
            }
        });
    }
}
