using Azure.Storage.Blobs;

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

        if (!TryParsePin(query < 0 ? string.Empty : rest[(query + 1)..], out string? versionId, out string? snapshot))
        {
            return false;
        }

        parsed = new AzureBlobFleetLocation(container, blob, versionId, snapshot);
        return true;
    }

    /// <summary>
    /// Parses a blob's address in the account of <paramref name="client"/> (same scheme, host, port and account), with no
    /// query but a pin: an address with a SAS is left to whoever reads it as it is.
    /// </summary>
    public static bool TryParseAddress(string location, BlobServiceClient client, out AzureBlobFleetLocation parsed)
    {
        parsed = default;
        if (!Uri.TryCreate(location, UriKind.Absolute, out Uri? uri)
            || !string.Equals(uri.GetLeftPart(UriPartial.Authority), client.Uri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase)
            || !TryParsePin(uri.Query.TrimStart('?'), out string? versionId, out string? snapshot))
        {
            return false;
        }

        // The SDK's parser knows both address forms: account in the host (Azure) and account in the path (Azurite, IP).
        var parts = new BlobUriBuilder(new Uri(uri.GetLeftPart(UriPartial.Path)));
        if (!string.Equals(parts.AccountName, client.AccountName, StringComparison.Ordinal)
            || !AzureBlobNames.IsValidContainer(parts.BlobContainerName)
            || string.IsNullOrEmpty(parts.BlobName))
        {
            return false;
        }

        parsed = new AzureBlobFleetLocation(parts.BlobContainerName, parts.BlobName, versionId, snapshot);
        return true;
    }

    // One pin and nothing else: any other parameter (a SAS's sig=, se=, …) makes the location one this reader refuses.
    private static bool TryParsePin(string query, out string? versionId, out string? snapshot)
    {
        versionId = null;
        snapshot = null;
        if (query.Length == 0)
        {
            return true;
        }

        string[] pair = query.Split('=', 2);
        if (pair.Length != 2 || pair[1].Length == 0 || pair[1].Contains('&', StringComparison.Ordinal))
        {
            return false;
        }

        string value = Uri.UnescapeDataString(pair[1]);
        if (pair[0].Equals("versionid", StringComparison.OrdinalIgnoreCase))
        {
            versionId = value;
            return true;
        }

        if (pair[0].Equals("snapshot", StringComparison.OrdinalIgnoreCase))
        {
            snapshot = value;
            return true;
        }

        return false;
    }
}
