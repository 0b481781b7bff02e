namespace ModelCaching;

/// <summary>
/// A fleet location of the form <c>azure-blob://container/blob[?versionid=…|?snapshot=…]</c>: the container, the blob
/// (percent-encoded where it must be) and at most one pin. No account and no credential: those come from the reader's
/// configuration, so nothing secret is kept in the fleet's records.
/// </summary>
internal readonly record struct AzureBlobFleetLocation(string Container, string BlobName, string? VersionId, string? Snapshot)
{
    public const string Scheme = "azure-blob://";

    /// <summary>Parses <paramref name="location"/>; <see langword="false"/> for anything else, such as a query with a SAS.</summary>
    public static bool TryParse(string location, out AzureBlobFleetLocation parsed)
    {
        parsed = default;
        if (!location.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        string rest = location[Scheme.Length..];
        int query = rest.IndexOf('?', StringComparison.Ordinal);
        string path = query < 0 ? rest : rest[..query];
        int slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == path.Length - 1)
        {
            return false;
        }

        string container = path[..slash];
        string blob = Uri.UnescapeDataString(path[(slash + 1)..]);
        if (!AzureBlobNames.IsValidContainer(container) || blob.Length > 1024)
        {
            return false;
        }

        string? versionId = null;
        string? snapshot = null;
        if (query >= 0)
        {
            // One pin and nothing else: any other parameter (a SAS's sig=, se=, …) makes the location one this reader refuses.
            string[] pair = rest[(query + 1)..].Split('=', 2);
            if (pair.Length != 2 || pair[1].Length == 0 || pair[1].Contains('&', StringComparison.Ordinal))
            {
                return false;
            }

            string value = Uri.UnescapeDataString(pair[1]);
            if (pair[0].Equals("versionid", StringComparison.OrdinalIgnoreCase))
            {
                versionId = value;
            }
            else if (pair[0].Equals("snapshot", StringComparison.OrdinalIgnoreCase))
            {
                snapshot = value;
            }
            else
            {
                return false;
            }
        }

        parsed = new AzureBlobFleetLocation(container, blob, versionId, snapshot);
        return true;
    }
}
