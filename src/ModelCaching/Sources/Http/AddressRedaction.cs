namespace ModelCaching;

/// <summary>
/// Removes what often carries a secret from an address before it goes into a message, a log or a metric: the user
/// information (<c>user:password@</c>), the query string (SAS tokens, signatures) and the fragment.
/// </summary>
internal static class AddressRedaction
{
    public static string Redact(Uri uri) => uri.IsAbsoluteUri && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
        ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped)
        : Redact(uri.OriginalString); // other schemes (ftp, file) may keep '?' in the path: cut the text itself

    /// <summary>Redacts text that may not even parse as an address.</summary>
    public static string Redact(string address)
    {
        int end = address.AsSpan().IndexOfAny('?', '#');
        string kept = end < 0 ? address : address[..end];
        int scheme = kept.IndexOf("://", StringComparison.Ordinal);
        int authorityStart = scheme < 0 ? 0 : scheme + 3;
        int authorityEnd = kept.IndexOf('/', authorityStart);
        int at = kept.LastIndexOf('@', authorityEnd < 0 ? kept.Length - 1 : authorityEnd - 1);
        if (at >= authorityStart)
        {
            kept = kept[..authorityStart] + kept[(at + 1)..];
        }

        return end < 0 ? kept : kept + "?…";
    }
}
