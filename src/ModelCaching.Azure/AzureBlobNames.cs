namespace ModelCaching;

/// <summary>The storage service's naming rules, checked before any request so a typo fails with a clear message.</summary>
internal static class AzureBlobNames
{
    // 3-63 characters: lowercase letters, digits, single hyphens inside. $root and $web are the special ones.
    public static bool IsValidContainer(string container) =>
        container is "$root" or "$web"
        || (container.Length is >= 3 and <= 63
            && container[0] != '-' && container[^1] != '-'
            && !container.Contains("--", StringComparison.Ordinal)
            && container.All(static c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'));
}
