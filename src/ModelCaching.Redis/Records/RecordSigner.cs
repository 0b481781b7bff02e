using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ModelCaching.Redis.Records;

/// <summary>
/// Signs and checks version records with HMAC-SHA256 over every field that decides what an instance loads (fleet, model,
/// version id, SHA-256, size, storage, location, publisher, time), so a record cannot be moved to another model or fleet,
/// or pointed at other bytes, without the key.
/// </summary>
internal sealed class RecordSigner(byte[]? key, string fleetName)
{
    private const string Domain = "modelcaching-fleet-record-v1";

    /// <summary>Whether records are signed and checked.</summary>
    public bool IsEnabled => key is not null;

    /// <summary>The record with its signature, or as it is without a key.</summary>
    public FleetVersion Sign(FleetVersion version) => key is null ? version : version with { Signature = Convert.ToBase64String(Mac(key, version)) };

    /// <summary>Returns why the record is refused, or <see langword="null"/> when it may be loaded.</summary>
    public string? Refusal(FleetVersion version)
    {
        if (key is null)
        {
            return null;
        }

        if (version.Signature is null)
        {
            return "the record is not signed, and this instance has a signing key (RedisFleetOptions.SigningKey): only signed records are loaded";
        }

        Span<byte> given = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!Convert.TryFromBase64String(version.Signature, given, out int written) || written != given.Length)
        {
            return "the record's signature is not a base64 HMAC-SHA256";
        }

        return CryptographicOperations.FixedTimeEquals(given, Mac(key, version))
            ? null
            : "the record's signature does not match: it was signed with another key, or changed after it was signed";
    }

    private byte[] Mac(byte[] secret, FleetVersion version)
    {
        // Each field length-prefixed: no value (a location with a newline, say) can pass for two fields.
        var canonical = new StringBuilder();
        foreach (string field in (ReadOnlySpan<string>)[
            Domain,
            fleetName,
            version.Model,
            version.VersionId,
            version.Sha256,
            version.SizeBytes.ToString(CultureInfo.InvariantCulture),
            version.Storage.ToString(),
            version.Location ?? string.Empty,
            version.PublishedBy,
            version.PublishedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)])
        {
            canonical.Append(CultureInfo.InvariantCulture, $"{field.Length}:{field}\n");
        }

        return HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(canonical.ToString()));
    }
}
